/**
 * `tcptools life` attribution end to end: which process each session line
 * names, on every way a TCP session can end, and under `-p`. Each end is a
 * tests/session_end.c process the test drives step by step, so every close
 * happens in a known process at a known moment.
 */
import assert from "node:assert/strict";
import { SessionEnd } from "./session_end.ts";
import { Tracer, until } from "./harness.ts";

const HOST = "127.0.0.1";

/** A line's fields as `life -s` prints them (CSV, KB). */
interface CsvRow {
  pid: number;
  comm: string;
  lport: number;
  rport: number;
  txKb: number;
  rxKb: number;
}

function csvRows(lines: string[]): CsvRow[] {
  return lines.slice(1).map((line) => {
    const [pid, comm, _ip, _laddr, lport, _raddr, rport, txKb, rxKb] = line.split(",");
    return {
      pid: Number(pid),
      comm,
      lport: Number(lport),
      rport: Number(rport),
      txKb: Number(txKb),
      rxKb: Number(rxKb),
    };
  });
}

function byPorts(rows: CsvRow[]): CsvRow[] {
  return rows.toSorted((a, b) => a.lport - b.lport || a.rport - b.rport);
}

/** Opens a session and sends 3 KiB up, which the server reads; returns the client's port. */
async function openSession(client: SessionEnd, server: SessionEnd): Promise<number> {
  const { lport } = await client.do("connect");
  await server.do("accept");
  await client.do("send 3072");
  await server.do("recv 3072");
  return lport;
}

/**
 * One session: 3 KiB up, 1 KiB down, then `first` (the client unless given)
 * closes (FIN) and the other end closes after reading it. Returns the
 * client's and the server's expected rows (the FINs and the client's SYN do
 * not reach a full KB).
 */
async function session(
  client: SessionEnd,
  server: SessionEnd,
  first: SessionEnd = client,
): Promise<[CsvRow, CsvRow]> {
  const lport = await openSession(client, server);
  await server.do("send 1024");
  await client.do("recv 1024");
  const second = first === client ? server : client;
  await first.do("close");
  await second.do("eof");
  await second.do("close");
  return rows(client, server, lport, 3, 1);
}

for (const side of ["server", "client"] as const) {
  Deno.test(`life -p <${side}> shows exactly that process's sessions, as life shows them`, async () => {
    const server = await SessionEnd.listen("tt-server", HOST);
    const client = await SessionEnd.client("tt-client", HOST, server.port);
    const target = side === "server" ? server : client;
    const all = await Tracer.start(["life", "-s"]);
    const filtered = await Tracer.start(["life", "-s", "-p", String(target.pid)]);
    try {
      // Three sessions: the last one's line proves the others' are all in.
      const sessions: [CsvRow, CsvRow][] = [];
      for (let i = 0; i < 3; i++) sessions.push(await session(client, server));
      const mine = sessions.map(([c, s]) => side === "server" ? s : c);
      const last = mine[2];
      const seen = (t: Tracer) =>
        csvRows(t.lines()).some((r) => r.lport === last.lport && r.rport === last.rport);
      await until("the last session under -p", () => seen(filtered));
      await until("the last session unfiltered", () => seen(all));
      const filteredOut = csvRows((await filtered.stop()).stdout.trimEnd().split("\n"));
      const allOut = csvRows((await all.stop()).stdout.trimEnd().split("\n"));
      assert.deepEqual(filteredOut, mine);
      const ports = new Set(sessions.flat().map((r) => r.lport));
      assert.deepEqual(byPorts(allOut.filter((r) => ports.has(r.lport))), byPorts(sessions.flat()));
    } finally {
      await all.stop();
      await filtered.stop();
      await client.stop();
      await server.stop();
    }
  });
}

/**
 * Runs `steps` under one unfiltered tracer (`life -s`) and checks that each
 * session it returns has exactly one line, equal to the row it expects.
 */
async function assertRows(steps: () => Promise<CsvRow[]>): Promise<void> {
  const tracer = await Tracer.start(["life", "-s"]);
  try {
    const expected = await steps();
    const key = (r: CsvRow) => `${r.lport}:${r.rport}`;
    const keys = new Set(expected.map(key));
    const ours = () => csvRows(tracer.lines()).filter((r) => keys.has(key(r)));
    await until("every session's line", () => ours().length >= expected.length);
    const { code, stdout } = await tracer.stop();
    assert.equal(code, 0);
    const printed = csvRows(stdout.trimEnd().split("\n")).filter((r) => keys.has(key(r)));
    assert.deepEqual(byPorts(printed), byPorts(expected));
  } finally {
    await tracer.stop();
  }
}

/** A listener and a client of it, stopped after `body`. */
async function withEnds<T>(
  body: (client: SessionEnd, server: SessionEnd) => Promise<T>,
  netns?: string,
): Promise<T> {
  const server = await SessionEnd.listen("tt-server", HOST, netns);
  const client = await SessionEnd.client("tt-client", HOST, server.port, netns);
  try {
    return await body(client, server);
  } finally {
    await client.stop();
    await server.stop();
  }
}

function row(end: SessionEnd, comm: string, lport: number, rport: number, txKb = 0, rxKb = 0) {
  return { pid: end.pid, comm, lport, rport, txKb, rxKb };
}

/** Both ends' rows of one session: the client sent `upKb` and received `downKb`. */
function rows(
  client: SessionEnd,
  server: SessionEnd,
  lport: number,
  upKb: number,
  downKb: number,
): [CsvRow, CsvRow] {
  return [
    row(client, "tt-client", lport, server.port, upKb, downKb),
    row(server, "tt-server", server.port, lport, downKb, upKb),
  ];
}

Deno.test("life: the client closes first (FIN); each end is its own process", async () => {
  await withEnds((client, server) => assertRows(() => session(client, server)));
});

Deno.test("life: the server closes first (FIN); each end is its own process", async () => {
  await withEnds((client, server) => assertRows(() => session(client, server, server)));
});

Deno.test("life: a server reset by its client (SO_LINGER 0) is the server's, from its accept()", async () => {
  await withEnds((client, server) =>
    assertRows(async () => {
      const lport = await openSession(client, server);
      // The RST reaches the server's socket in softirq, while the client runs:
      // after its accept() and recv(), the server does nothing more here.
      await client.do("linger0");
      await client.do("close");
      return rows(client, server, lport, 3, 0);
    })
  );
});

Deno.test("life: a close() with unread data sends RST; each end is its own process", async () => {
  await withEnds((client, server) =>
    assertRows(async () => {
      const { lport } = await client.do("connect");
      await server.do("accept");
      await client.do("send 3072");
      await server.do("close"); // 3 KiB unread: RST instead of FIN
      return rows(client, server, lport, 3, 0);
    })
  );
});

Deno.test("life: a session reset before anyone accepted it has no process: PID 0, COMM -", async () => {
  await withEnds(async (client, server) => {
    const filtered = await Tracer.start(["life", "-s", "-p", String(server.pid)]);
    try {
      let reset: CsvRow[] = [];
      await assertRows(async () => {
        const { lport } = await client.do("connect");
        await client.do("linger0");
        await client.do("close");
        reset = [
          row(client, "tt-client", lport, server.port),
          { pid: 0, comm: "-", lport: server.port, rport: lport, txKb: 0, rxKb: 0 },
        ];
        return reset;
      });
      // -p agrees: the server never owned it. Its next session's line proves
      // that the reset one would have been printed by now.
      await server.do("accept"); // the reset one, still queued
      await server.do("close");
      const [, next] = await session(client, server);
      await until("the server's next session", () => csvRows(filtered.lines()).length > 0);
      assert.deepEqual(csvRows((await filtered.stop()).stdout.trimEnd().split("\n")), [next]);
    } finally {
      await filtered.stop();
    }
  });
});

Deno.test("life: a server whose peer stops answering times out in a timer; it is the server's", async () => {
  const netns = `tt-life-${Deno.pid}`;
  const ip = (...args: string[]) => {
    const out = new Deno.Command("ip", { args, stderr: "piped" }).outputSync();
    if (!out.success) {
      throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  ip("netns", "add", netns);
  try {
    ip("-n", netns, "link", "set", "lo", "up");
    await withEnds((client, server) =>
      assertRows(async () => {
        const lport = await openSession(client, server);
        // The link goes down: nothing the server sends arrives, and after
        // TCP_USER_TIMEOUT its retransmission timer (softirq) closes it.
        ip("-n", netns, "link", "set", "lo", "down");
        await server.do("user_timeout 200");
        await server.do("send 1024");
        // The client then gives up itself, in its own close().
        await client.do("linger0");
        await client.do("close");
        return rows(client, server, lport, 3, 0);
      }), netns);
  } finally {
    ip("netns", "del", netns);
  }
});

Deno.test("life: a socket handed to another process is that process's once it closes it (RST)", async () => {
  await withEnds((client, server) =>
    assertRows(async () => {
      const lport = await openSession(client, server);
      const heir = await client.do("handoff"); // the connect()er's child
      await client.do("linger0");
      await client.do("close");
      return [
        { pid: heir.pid, comm: "tt-heir", lport, rport: server.port, txKb: 3, rxKb: 0 },
        row(server, "tt-server", server.port, lport, 0, 3),
      ];
    })
  );
});
