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

/**
 * One session, the client closing first: 3 KiB up, 1 KiB down. Returns the
 * client's and the server's expected rows (the FIN and the client's SYN do
 * not reach a full KB).
 */
async function session(client: SessionEnd, server: SessionEnd): Promise<[CsvRow, CsvRow]> {
  const { lport } = await client.do("connect");
  await server.do("accept");
  await client.do("send 3072");
  await server.do("recv 3072");
  await server.do("send 1024");
  await client.do("recv 1024");
  await client.do("close");
  await server.do("eof");
  await server.do("close");
  return [
    { pid: client.pid, comm: "tt-client", lport, rport: server.port, txKb: 3, rxKb: 1 },
    { pid: server.pid, comm: "tt-server", lport: server.port, rport: lport, txKb: 1, rxKb: 3 },
  ];
}

for (const side of ["server", "client"] as const) {
  Deno.test(`life -p <${side}> shows exactly that process's sessions, as life shows them`, async () => {
    const server = await SessionEnd.listen("tt-server", HOST);
    const client = await SessionEnd.client("tt-client", HOST, server.port);
    const target = side === "server" ? server : client;
    const all = await Tracer.start(["life", "-s"]);
    const filtered = await Tracer.start(["life", "-s", "-p", String(target.pid)]);
    try {
      // Two sessions: the second one's line proves the first one's are all in.
      const sessions = [await session(client, server), await session(client, server)];
      const mine = sessions.map(([c, s]) => side === "server" ? s : c);
      const last = mine[1];
      const seen = (t: Tracer) => csvRows(t.lines()).some((r) => r.lport === last.lport);
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
