/**
 * `tcptools connlat` end to end: real connects by peer processes, each
 * latency checked against the connect() time the peer measured itself.
 */
import assert from "node:assert/strict";
import {
  assertRefusedConnectJson,
  assertUsageErrors,
  closedPort,
  exchange,
  linesOf,
  mappedRefusedConnect,
  Peer,
  Tracer,
  until,
} from "./harness.ts";

function seen(tracer: Tracer, pid: number): () => boolean {
  return () => linesOf(tracer.lines().join("\n"), pid).length > 0;
}

/** bcc's line up to LAT(ms); -L adds LPORT. */
function prefix(
  c: { pid: number; ip: number; address: string; dport: number; lport?: number },
): string {
  const lport = c.lport === undefined ? "" : `${String(c.lport).padEnd(6)} `;
  return `${String(c.pid).padEnd(7)} ${"tt-client".padEnd(12)} ${String(c.ip).padEnd(2)} ` +
    `${c.address.padEnd(16)} ${lport}${c.address.padEnd(16)} ${String(c.dport).padEnd(5)} `;
}

/** The LAT(ms) of the one line starting with `start`. */
function latency(lines: string[], start: string): number {
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.ok(lines[0].startsWith(start), `${lines[0]}\n!= ${start}`);
  const lat = lines[0].slice(start.length);
  assert.match(lat, /^\d+\.\d\d$/);
  return Number(lat);
}

Deno.test("connlat prints each answered connect with a latency within the connect() time", async () => {
  const tracer = await Tracer.start(["connlat"]);
  const v4 = await exchange("127.0.0.1", { up: 1, down: 1 });
  const v6 = await exchange("::1", { up: 1, down: 1 });
  await until("both connects", seen(tracer, v6.client.pid));
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  assert.equal(stderr, "");
  assert.equal(
    stdout.split("\n")[0],
    "PID     COMM         IP SADDR            DADDR            DPORT LAT(ms)",
  );
  for (const [x, address, ip] of [[v4, "127.0.0.1", 4], [v6, "::1", 6]] as const) {
    const measured = x.client.reports()[0].connect_ms as number;
    const lat = latency(
      linesOf(stdout, x.client.pid),
      prefix({ pid: x.client.pid, ip, address, dport: x.serverPort }),
    );
    assert.ok(lat <= measured + 0.005, `LAT ${lat} > connect() ${measured} ms`);
    assert.deepEqual(linesOf(stdout, x.server.pid), []);
  }
});

Deno.test("connlat -L -t adds the local port and the time of the answer", async () => {
  const tracer = await Tracer.start(["connlat", "-L", "-t"]);
  const x = await exchange("::1", { up: 1, down: 1 });
  await until("the connect", seen(tracer, x.client.pid));
  const { stdout } = await tracer.stop();
  assert.equal(
    stdout.split("\n")[0],
    "TIME(s)  PID     COMM         IP SADDR            LPORT  DADDR            DPORT LAT(ms)",
  );
  const [found] = linesOf(stdout, x.client.pid);
  assert.match(found.slice(0, 9), /^\d+\.\d{3} +$/);
  latency(
    [found.slice(9)],
    prefix({
      pid: x.client.pid,
      ip: 6,
      address: "::1",
      dport: x.serverPort,
      lport: x.clientPorts[0],
    }),
  );
});

Deno.test("connlat measures a refused connect, and --json gives latency and outcome", async () => {
  const text = await Tracer.start(["connlat"]);
  const json = await Tracer.start(["connlat", "--json"], { waitForHeader: false });
  await json.probeUntilFirstLine(() => exchange("127.0.0.1", { up: 1, down: 1 }));
  const port = closedPort("127.0.0.1");
  const client = Peer.spawn("connect", { host: "127.0.0.1", port, comm: "tt-client" });
  const [report] = await client.finished();
  assert.equal(report.refused, true);
  await until("the refused connect", seen(json, client.pid));
  const measured = report.connect_ms as number;
  const textOut = (await text.stop()).stdout;
  const lat = latency(
    linesOf(textOut, client.pid),
    prefix({ pid: client.pid, ip: 4, address: "127.0.0.1", dport: port }),
  );
  assert.ok(lat <= measured + 0.005);
  const [line] = linesOf((await json.stop()).stdout, client.pid);
  assertRefusedConnectJson(line, client.pid, port, measured);
});

Deno.test("connlat's minimum latency keeps slower connects and drops faster ones", async () => {
  // Both see the same kernel events: once the 1 µs one printed a connect, the
  // 10 s one has seen it too.
  const slow = await Tracer.start(["connlat", "10000"]);
  const fast = await Tracer.start(["connlat", "0.001"]);
  const x = await exchange("127.0.0.1", { up: 1, down: 1 });
  await until("the connect", seen(fast, x.client.pid));
  const slowOut = (await slow.stop()).stdout;
  const fastOut = (await fast.stop()).stdout;
  assert.equal(linesOf(fastOut, x.client.pid).length, 1);
  assert.deepEqual(linesOf(slowOut, x.client.pid), []);
});

Deno.test("connlat -p, -4 and -6 keep the matching connects and drop the others", async () => {
  const server = Peer.spawn("serve", { host: "127.0.0.1", count: 2, send: 1, expect: 1 });
  const port = (await server.report(1)).port as number;
  const client = { host: "127.0.0.1", port, send: 1, expect: 1, comm: "tt-client" };
  const wanted = Peer.spawn("connect", { ...client, "delay-ms": 1500 });
  const tracer = await Tracer.start(["connlat", "-p", String(wanted.pid)]);
  const other = Peer.spawn("connect", client);
  await Promise.all([other.finished(), wanted.finished(), server.finished()]);
  await until("the wanted connect", seen(tracer, wanted.pid));
  const { stdout } = await tracer.stop();
  assert.equal(linesOf(stdout, wanted.pid).length, 1);
  assert.deepEqual(
    stdout.trimEnd().split("\n").slice(1).filter((l) => !l.startsWith(`${wanted.pid} `)),
    [],
  );

  for (const [flag, ip] of [["-4", 4], ["-6", 6]] as const) {
    const tracer = await Tracer.start(["connlat", flag]);
    const v4 = await exchange("127.0.0.1", { up: 1, down: 1 });
    const v6 = await exchange("::1", { up: 1, down: 1 });
    const [kept, dropped] = ip === 4 ? [v4, v6] : [v6, v4];
    await until("the kept connect", seen(tracer, kept.client.pid));
    const { stdout } = await tracer.stop();
    assert.equal(linesOf(stdout, kept.client.pid).length, 1);
    assert.deepEqual(linesOf(stdout, dropped.client.pid), []);
    for (const l of stdout.trimEnd().split("\n").slice(1)) {
      assert.equal(l.split(/ +/)[2], String(ip));
    }
  }
});

Deno.test("connlat rejects bad input with a one-line error and exit status 2", async () => {
  const cases: [string[], string][] = [
    [["connlat", "abc"], "tcptools connlat: error: argument duration_ms: must be a float"],
    [["connlat", "1", "2"], "tcptools connlat: error: unrecognized arguments: 2"],
    [["connlat", "-p", "x"], "tcptools connlat: error: argument -p/--pid: invalid PID: 'x'"],
    [
      ["connlat", "-4", "-6"],
      "tcptools connlat: error: argument -6/--ipv6: not allowed with argument -4/--ipv4",
    ],
    [["connlat", "-1"], "tcptools connlat: error: "],
    [["connlat", "-x"], "tcptools connlat: error: unrecognized arguments: -x"],
  ];
  await assertUsageErrors(cases);
});

Deno.test("connlat shows an IPv4-mapped connect of an IPv6 socket as IPv4, except under -6, in text and JSON", async () => {
  for (const [flags, ip] of [[[], 4], [["-4"], 4], [["-6"], 6]] as const) {
    const { lines, pid, port, address } = await mappedRefusedConnect("connlat", flags, ip);
    latency(lines, prefix({ pid, ip, address, dport: port }));
  }
});

Deno.test("connlat -v shows libbpf's log on stderr and prints the same lines", async () => {
  const tracer = await Tracer.start(["connlat", "-v"]);
  const x = await exchange("127.0.0.1", { up: 1, down: 1 });
  await until("the connect", seen(tracer, x.client.pid));
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  assert.equal(
    stdout.split("\n")[0],
    "PID     COMM         IP SADDR            DADDR            DPORT LAT(ms)",
  );
  latency(
    linesOf(stdout, x.client.pid),
    prefix({ pid: x.client.pid, ip: 4, address: "127.0.0.1", dport: x.serverPort }),
  );
  const log = stderr.split("\n").filter((l) => l.startsWith("libbpf: "));
  // What libbpf did while loading: at least the object, its maps and programs.
  assert.ok(log.some((l) => l.includes("loading object")), stderr);
  assert.ok(log.some((l) => l.includes("connect_set_state")), stderr);
  assert.deepEqual(stderr.split("\n").filter((l) => l !== "" && !l.startsWith("libbpf: ")), []);
});
