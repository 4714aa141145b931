/**
 * Process names end to end: a local user names a process as it likes
 * (/proc/self/comm, as prctl(PR_SET_NAME) does), and every text format of
 * every tool prints that name escaped, cut to bcc's width in bcc's unit
 * (bytes for accept and connect, characters for connlat and life), and CSV
 * quoted; JSON carries the exact name.
 */
import assert from "node:assert/strict";
import { closedPort, exchange, linesOf, Tracer, until } from "./harness.ts";

/** Forges a CSV row and a text line, clears the screen, moves the cursor back. */
const HOSTILE = "a,b\n9,x\r\x1b[2J";
/** 11 characters, 15 bytes. */
const UNICODE = "cli ünïcödé";

/** Any byte a terminal acts on, other than the line ends themselves. */
const CONTROL = /[^\n\P{Cc}]/u;

Deno.test("hostile and non-ASCII process names are escaped, cut and quoted in every text format", async () => {
  const tracers = {
    life: await Tracer.start(["life"]),
    wide: await Tracer.start(["life", "-w"]),
    csv: await Tracer.start(["life", "-s"]),
    json: await Tracer.start(["life", "--json"], { waitForHeader: false }),
    accept: await Tracer.start(["accept"]),
    connect: await Tracer.start(["connect"]),
    connlat: await Tracer.start(["connlat"]),
  };
  // The JSON tracer prints no header: a refused connect's session shows it is attached.
  await tracers.json.probeUntilFirstLine(() =>
    Deno.connect({ hostname: "127.0.0.1", port: closedPort("127.0.0.1") }).catch(() => {})
  );
  const x = await exchange("127.0.0.1", { serverComm: HOSTILE, clientComm: UNICODE });
  const server = x.server.pid;
  const client = x.client.pid;
  await until(
    "every tracer's lines",
    () =>
      linesOf(tracers.life.lines().join("\n"), server).length > 0 &&
      linesOf(tracers.wide.lines().join("\n"), server).length > 0 &&
      tracers.csv.lines().some((l) => l.startsWith(`${server},`)) &&
      linesOf(tracers.json.lines().join("\n"), server).length > 0 &&
      linesOf(tracers.accept.lines().join("\n"), server).length > 0 &&
      linesOf(tracers.connect.lines().join("\n"), client).length > 0 &&
      linesOf(tracers.connlat.lines().join("\n"), client).length > 0,
  );
  const out: Record<string, string> = {};
  for (const [name, tracer] of Object.entries(tracers)) {
    const { code, stdout } = await tracer.stop();
    assert.equal(code, 0, name);
    assert.doesNotMatch(stdout, CONTROL, `${name} printed a control character`);
    out[name] = stdout;
  }
  const only = (name: string, pid: number) => {
    const lines = linesOf(out[name], pid);
    assert.equal(lines.length, 1, `${name}: one line for ${pid}:\n${out[name]}`);
    return lines[0];
  };

  // tcplife's %-10.10s and %-16.16s count characters; the escapes follow the kept characters.
  assert.ok(only("life", server).startsWith(`${String(server).padEnd(5)} a,b\\x0a9,x\\x0d\\x1b[ `));
  assert.ok(only("life", client).startsWith(`${String(client).padEnd(5)} cli ünïcöd 127.0.0.1 `));
  assert.ok(
    only("wide", server).startsWith(`${String(server).padEnd(5)} a,b\\x0a9,x\\x0d\\x1b[2J 4  `),
  );
  assert.ok(only("wide", client).startsWith(`${String(client).padEnd(5)} cli ünïcödé      4  `));
  // CSV: the whole name, escaped, quoted because it holds commas.
  const csv = out.csv.split("\n").filter((l) => l.startsWith(`${server},`));
  assert.equal(csv.length, 1, out.csv);
  assert.ok(
    csv[0].startsWith(
      `${server},"a,b\\x0a9,x\\x0d\\x1b[2J",4,127.0.0.1,${x.serverPort},127.0.0.1,` +
        `${x.clientPorts[0]},50,200,`,
    ),
    csv[0],
  );
  // JSON carries the exact names.
  assert.equal(JSON.parse(only("json", server)).comm, HOSTILE);
  assert.equal(JSON.parse(only("json", client)).comm, UNICODE);
  // tcpaccept's and tcpconnect's %-12.12s count bytes: 9 of the 11 characters fit in 12.
  assert.ok(
    only("accept", server).startsWith(`${String(server).padEnd(7)} a,b\\x0a9,x\\x0d\\x1b[2J 4  `),
  );
  assert.ok(only("connect", client).startsWith(`${String(client).padEnd(7)} cli ünïcö 4  `));
  // tcpconnlat decodes first, so it counts characters.
  assert.ok(only("connlat", client).startsWith(`${String(client).padEnd(7)} cli ünïcödé  4  `));
});
