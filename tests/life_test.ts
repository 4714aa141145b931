/**
 * `tcptools life` end to end: the real BPF program in the running kernel,
 * real loopback sessions made by peer processes, every field checked against
 * what the peers did.
 */
import assert from "node:assert/strict";
import { type Exchange, exchange, Peer, runTcptools, Tracer, until } from "./harness.ts";

const UP = 204800; // client -> server, 200 KiB
const DOWN = 51200; // server -> client, 50 KiB

/** The two ends of one exchanged connection, as the tracer should report them. */
function ends(x: Exchange, address: string, i = 0) {
  return {
    client: {
      pid: x.client.pid,
      comm: "tt-client",
      laddr: address,
      lport: x.clientPorts[i],
      raddr: address,
      rport: x.serverPort,
      tx: UP,
      rx: DOWN,
    },
    server: {
      pid: x.server.pid,
      comm: "tt-server",
      laddr: address,
      lport: x.serverPort,
      raddr: address,
      rport: x.clientPorts[i],
      tx: DOWN,
      rx: UP,
    },
  };
}
type End = ReturnType<typeof ends>["client"];

/** The default-format line of an end up to (not including) MS, as bcc prints it. */
function columnsPrefix(e: End): string {
  return `${String(e.pid).padEnd(5)} ${e.comm.slice(0, 10).padEnd(10)} ${e.laddr.padEnd(15)} ` +
    `${String(e.lport).padEnd(5)} ${e.raddr.padEnd(15)} ${String(e.rport).padEnd(5)} ` +
    `${String(Math.floor(e.tx / 1024)).padStart(5)} ${
      String(Math.floor(e.rx / 1024)).padStart(5)
    } `;
}

function widePrefix(e: End, ip: number): string {
  return `${String(e.pid).padEnd(5)} ${e.comm.padEnd(16)} ${String(ip).padEnd(2)} ` +
    `${e.laddr.padEnd(39)} ${String(e.lport).padEnd(5)} ${e.raddr.padEnd(39)} ` +
    `${String(e.rport).padEnd(5)} ${String(Math.floor(e.tx / 1024)).padStart(6)} ` +
    `${String(Math.floor(e.rx / 1024)).padStart(6)} `;
}

/** Finds the one line that starts with `prefix` (after `skip` characters) and returns its MS. */
function lineMs(lines: string[], prefix: string, skip = 0): number {
  const found = lines.filter((l) => l.slice(skip).startsWith(prefix));
  assert.equal(
    found.length,
    1,
    `expected exactly one line starting with ${JSON.stringify(prefix)}`,
  );
  const ms = found[0].slice(skip + prefix.length);
  assert.match(ms, /^\d+\.\d\d$/);
  return Number(ms);
}

function has(lines: string[], port: number): boolean {
  return lines.some((l) => l.includes(` ${port} `) || l.includes(`,${port},`));
}

Deno.test("life reports both ends of IPv4 and IPv6 sessions with exact fields", async () => {
  const tracer = await Tracer.start(["life"]);
  const started = Date.now();
  const v4 = await exchange("127.0.0.1");
  const v6 = await exchange("::1");
  const elapsedMs = Date.now() - started;
  await until("four session lines", () => has(tracer.lines(), v6.clientPorts[0]));
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  assert.equal(stderr, "");
  const lines = stdout.split("\n");
  assert.equal(
    lines[0],
    "PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS",
  );
  for (const [x, address] of [[v4, "127.0.0.1"], [v6, "::1"]] as const) {
    const { client, server } = ends(x, address);
    for (const end of [client, server]) {
      const ms = lineMs(lines, columnsPrefix(end));
      assert.ok(ms > 0 && ms <= elapsedMs, `MS ${ms} out of (0, ${elapsedMs}]`);
    }
  }
});

Deno.test("life -w prints the IP column and full-width addresses", async () => {
  const tracer = await Tracer.start(["life", "-w"]);
  const v4 = await exchange("127.0.0.1");
  const v6 = await exchange("::1");
  await until("the last session", () => has(tracer.lines(), v6.clientPorts[0]));
  const { code, stdout } = await tracer.stop();
  assert.equal(code, 0);
  const lines = stdout.split("\n");
  assert.equal(
    lines[0],
    "PID   COMM             IP LADDR                                   LPORT RADDR" +
      "                                   RPORT  TX_KB  RX_KB MS",
  );
  for (const [x, address, ip] of [[v4, "127.0.0.1", 4], [v6, "::1", 6]] as const) {
    const { client, server } = ends(x, address);
    for (const end of [client, server]) assert.ok(lineMs(lines, widePrefix(end, ip)) > 0);
  }
});

Deno.test("life -stT prints CSV with a time and a timestamp column", async () => {
  const tracer = await Tracer.start(["life", "-stT"]);
  const v4 = await exchange("127.0.0.1");
  const v6 = await exchange("::1");
  await until("the last session", () => has(tracer.lines(), v6.clientPorts[0]));
  const { code, stdout } = await tracer.stop();
  assert.equal(code, 0);
  const [header, ...rows] = stdout.trimEnd().split("\n").map((l) => l.split(","));
  assert.deepEqual(header, [
    "TIME",
    "TIME(s)",
    "PID",
    "COMM",
    "IP",
    "LADDR",
    "LPORT",
    "RADDR",
    "RPORT",
    "TX_KB",
    "RX_KB",
    "MS",
  ]);
  assert.equal(rows[0][1], "0.000000", "the first printed session is time 0");
  for (const [x, address, ip] of [[v4, "127.0.0.1", 4], [v6, "::1", 6]] as const) {
    const { client, server } = ends(x, address);
    for (const end of [client, server]) {
      const row = rows.filter((r) => r[2] === String(end.pid) && r[6] === String(end.lport));
      assert.equal(row.length, 1);
      const [time, seconds, pid, comm, ipText, laddr, lport, raddr, rport, tx, rx, ms] = row[0];
      assert.match(time, /^\d\d:\d\d:\d\d$/);
      assert.match(seconds, /^\d+\.\d{6}$/);
      assert.deepEqual(
        [pid, comm, ipText, laddr, lport, raddr, rport, tx, rx],
        [
          end.pid,
          end.comm,
          ip,
          end.laddr,
          end.lport,
          end.raddr,
          end.rport,
          end.tx >> 10,
          end.rx >> 10,
        ]
          .map(String),
      );
      assert.match(ms, /^\d+\.\d\d$/);
    }
  }
});

Deno.test("life --json prints one object per session with exact bytes", async () => {
  const tracer = await Tracer.start(["life", "--json"], { waitForHeader: false });
  await tracer.probeUntilFirstLine(() => exchange("127.0.0.1", { up: 1, down: 1 }));
  const before = Date.now();
  const v4 = await exchange("127.0.0.1");
  const v6 = await exchange("::1");
  const after = Date.now();
  await until(
    "the last session",
    () => tracer.lines().some((l) => l.includes(`${v6.clientPorts[0]}`)),
  );
  const { code, stdout } = await tracer.stop();
  assert.equal(code, 0);
  const objects = stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  for (const [x, address, ip] of [[v4, "127.0.0.1", 4], [v6, "::1", 6]] as const) {
    const { client, server } = ends(x, address);
    for (const end of [client, server]) {
      const found = objects.filter((o) => o.pid === end.pid && o.lport === end.lport);
      assert.equal(found.length, 1);
      const { time, span_ms, ...rest } = found[0];
      assert.deepEqual(rest, {
        pid: end.pid,
        comm: end.comm,
        ip,
        laddr: end.laddr,
        lport: end.lport,
        raddr: end.raddr,
        rport: end.rport,
        tx_bytes: end.tx,
        rx_bytes: end.rx,
      });
      assert.equal(typeof span_ms, "number");
      assert.ok(span_ms > 0 && span_ms <= after - before);
      const t = Date.parse(time);
      assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.ok(t >= before - 5 && t <= after + 5, `time ${time} outside the exchange`);
    }
  }
});
