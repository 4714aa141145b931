/**
 * A TCP peer for the end-to-end tests, run as a process of its own so that
 * the tracer's PID and COMM can be checked against it. It names itself
 * (`--comm`, written to /proc/self/comm) and prints one JSON line per
 * connection with the ports it saw, so that the test compares the tracer's
 * output with facts it did not compute itself.
 *
 *   peer.ts serve   --host H [--port P] --count N --send B --expect B [--comm C]
 *   peer.ts connect --host H --port P   --count N --send B --expect B [--comm C]
 *                   [--delay-ms D]
 *
 * `serve` prints {"port":P} once listening, then for each connection reads
 * `expect` bytes, writes `send` bytes, and closes after the client has.
 * `connect` writes `send` bytes, reads `expect` bytes, and closes first.
 * `connect` waits `delay-ms` first (so a test can learn its PID), and also
 * reports how long each connect() took as it measured it (`connect_ms`);
 * to a closed port it prints {"refused":true,"connect_ms":…}, with no local
 * port free {"unavailable":true}, unanswered {"timed_out":true,"connect_ms":…},
 * on another error {"failed":"<Deno error name>","connect_ms":…}. With
 * `--abort-ms A`, a connect() still waiting after A ms is given up: the peer
 * prints {"aborted":true} and exits, which closes the socket.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: "string" },
    port: { type: "string", default: "0" },
    count: { type: "string", default: "1" },
    send: { type: "string", default: "0" },
    expect: { type: "string", default: "0" },
    comm: { type: "string" },
    "delay-ms": { type: "string", default: "0" },
    "abort-ms": { type: "string" },
  },
});
const [mode] = positionals;
const count = Number(values.count);
const send = Number(values.send);
const expect = Number(values.expect);
const host = values.host!;

if (values.comm) Deno.writeTextFileSync("/proc/self/comm", values.comm);

function report(fields: Record<string, unknown>): void {
  console.log(JSON.stringify(fields));
}

async function readExactly(conn: Deno.Conn, n: number): Promise<void> {
  const buf = new Uint8Array(65536);
  let got = 0;
  while (got < n) {
    const r = await conn.read(buf.subarray(0, Math.min(buf.length, n - got)));
    if (r === null) throw new Error(`peer closed after ${got} of ${n} bytes`);
    got += r;
  }
}

async function writeAll(conn: Deno.Conn, n: number): Promise<void> {
  const chunk = new Uint8Array(Math.min(n, 65536)).fill(120);
  let sent = 0;
  while (sent < n) sent += await conn.write(chunk.subarray(0, Math.min(chunk.length, n - sent)));
}

async function untilEof(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(1024);
  while (await conn.read(buf) !== null) { /* drain */ }
}

if (mode === "serve") {
  const listener = Deno.listen({ hostname: host, port: Number(values.port) });
  report({ port: (listener.addr as Deno.NetAddr).port });
  for (let i = 0; i < count; i++) {
    const conn = await listener.accept();
    await readExactly(conn, expect);
    await writeAll(conn, send);
    await untilEof(conn); // the client closes first
    const local = conn.localAddr as Deno.NetAddr;
    const remote = conn.remoteAddr as Deno.NetAddr;
    conn.close();
    report({ lport: local.port, rport: remote.port });
  }
  listener.close();
} else if (mode === "connect") {
  await new Promise((resolve) => setTimeout(resolve, Number(values["delay-ms"])));
  for (let i = 0; i < count; i++) {
    let conn: Deno.Conn;
    const started = performance.now();
    const abort = values["abort-ms"] === undefined ? undefined : setTimeout(() => {
      report({ aborted: true });
      Deno.exit(0);
    }, Number(values["abort-ms"]));
    try {
      conn = await Deno.connect({ hostname: host, port: Number(values.port) });
      clearTimeout(abort);
    } catch (error) {
      clearTimeout(abort);
      if (error instanceof Deno.errors.ConnectionRefused) {
        report({ refused: true, connect_ms: performance.now() - started });
        continue;
      }
      if (error instanceof Deno.errors.AddrNotAvailable) {
        report({ unavailable: true });
        continue;
      }
      if (error instanceof Deno.errors.TimedOut) {
        report({ timed_out: true, connect_ms: performance.now() - started });
        continue;
      }
      report({ failed: (error as Error).name, connect_ms: performance.now() - started });
      continue;
    }
    const connectMs = performance.now() - started;
    await writeAll(conn, send);
    await readExactly(conn, expect);
    const local = conn.localAddr as Deno.NetAddr;
    const remote = conn.remoteAddr as Deno.NetAddr;
    conn.close();
    report({ lport: local.port, rport: remote.port, connect_ms: connectMs });
  }
} else {
  console.error("usage: peer.ts serve|connect ...");
  Deno.exit(2);
}
