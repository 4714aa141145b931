/**
 * `tcptools connect` end to end: real connects made by peer processes, each
 * line checked against the peer's PID, UID, ports and addresses.
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
  tcptools,
  Tracer,
  until,
} from "./harness.ts";
import { ChildCgroup } from "./child_cgroup.ts";
import { cgroupV2Root } from "../src/bpf/cgroup_root.ts";
import { NetworkNamespace } from "./netns.ts";
import { SessionEnd } from "./session_end.ts";

const BANNER = "Tracing connect ... Hit Ctrl-C to end";
const NOBODY = 65534;

/** A server on `host` that takes `count` connections, and its port. */
async function server(host: string, count = 1): Promise<{ peer: Peer; port: number }> {
  const peer = Peer.spawn("serve", { host, count, send: 1, expect: 1, comm: "tt-server" });
  return { peer, port: (await peer.report(1)).port as number };
}

/** bcc's default line: PID COMM IP SADDR DADDR DPORT, then the empty DNS column. */
function line(c: { pid: number; ip: number; saddr: string; daddr: string; dport: number }) {
  return `${String(c.pid).padEnd(7)} ${"tt-client".padEnd(12)} ${String(c.ip).padEnd(2)} ` +
    `${c.saddr.padEnd(16)} ${c.daddr.padEnd(16)} ${String(c.dport).padEnd(6)} `;
}

Deno.test("connect prints each connect once with the caller's UID, PID, COMM and addresses", async () => {
  const tracer = await Tracer.start(["connect", "-U"]);
  const v4 = await exchange("127.0.0.1", { up: 1, down: 1 });
  const v6 = await exchange("::1", { up: 1, down: 1 });
  await until("both connects", () => linesOf(tracer.lines().join("\n"), v6.client.pid).length > 0);
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  assert.equal(stderr, "");
  const lines = stdout.split("\n");
  assert.equal(lines[0], BANNER);
  assert.equal(lines[1], "UID   PID     COMM         IP SADDR            DADDR            DPORT ");
  for (const [x, address, ip] of [[v4, "127.0.0.1", 4], [v6, "::1", 6]] as const) {
    const expected = "0".padEnd(6) +
      line({ pid: x.client.pid, ip, saddr: address, daddr: address, dport: x.serverPort });
    assert.deepEqual(linesOf(stdout, x.client.pid), [expected]);
    assert.deepEqual(linesOf(stdout, x.server.pid), [], "the server made no connect");
  }
});

Deno.test("connect -L prints the local port the connect got", async () => {
  const tracer = await Tracer.start(["connect", "-L", "-t"]);
  const v4 = await exchange("127.0.0.1", { up: 1, down: 1 });
  const v6 = await exchange("::1", { up: 1, down: 1 });
  await until("both connects", () => linesOf(tracer.lines().join("\n"), v6.client.pid).length > 0);
  const { code, stdout } = await tracer.stop();
  assert.equal(code, 0);
  const lines = stdout.split("\n");
  assert.equal(
    lines[1],
    "TIME(s)  PID     COMM         IP SADDR            LPORT  DADDR            DPORT ",
  );
  for (const [x, address, ip] of [[v4, "127.0.0.1", 4], [v6, "::1", 6]] as const) {
    const [found] = linesOf(stdout, x.client.pid);
    assert.match(found.slice(0, 9), /^\d+\.\d{3} +$/);
    assert.equal(
      found.slice(9),
      `${String(x.client.pid).padEnd(7)} ${"tt-client".padEnd(12)} ${String(ip).padEnd(2)} ` +
        `${address.padEnd(16)} ${String(x.clientPorts[0]).padEnd(6)} ${address.padEnd(16)} ` +
        `${String(x.serverPort).padEnd(6)} `,
    );
  }
});

Deno.test("connect reports a refused connect, and --json gives its outcome", async () => {
  for (const args of [["connect"], ["connect", "--json"]]) {
    const json = args.includes("--json");
    const tracer = await Tracer.start(args, { waitForHeader: !json });
    if (json) await tracer.probeUntilFirstLine(() => exchange("127.0.0.1", { up: 1, down: 1 }));
    const port = closedPort("127.0.0.1");
    const client = Peer.spawn("connect", { host: "127.0.0.1", port, comm: "tt-client" });
    const [report] = await client.finished();
    assert.equal(report.refused, true);
    await until(
      "the refused connect",
      () => linesOf(tracer.lines().join("\n"), client.pid).length > 0,
    );
    const { code, stdout } = await tracer.stop();
    assert.equal(code, 0);
    if (!json) {
      assert.deepEqual(linesOf(stdout, client.pid), [
        line({ pid: client.pid, ip: 4, saddr: "127.0.0.1", daddr: "127.0.0.1", dport: port }),
      ]);
      continue;
    }
    const [found] = linesOf(stdout, client.pid);
    assertRefusedConnectJson(found, client.pid, port, report.connect_ms as number);
  }
});

Deno.test("connect --json reports established connects with their local port and latency", async () => {
  const tracer = await Tracer.start(["connect", "--json"], { waitForHeader: false });
  await tracer.probeUntilFirstLine(() => exchange("127.0.0.1", { up: 1, down: 1 }));
  const v6 = await exchange("::1", { up: 1, down: 1 });
  await until(
    "the connect",
    () => tracer.lines().some((l) => l.includes(`"pid":${v6.client.pid},`)),
  );
  const { stdout } = await tracer.stop();
  const [found] = stdout.trimEnd().split("\n").map((l) => JSON.parse(l)).filter((o) =>
    o.pid === v6.client.pid
  );
  assert.equal(found.outcome, "established");
  assert.equal(found.lport, v6.clientPorts[0]);
  assert.equal(found.dport, v6.serverPort);
  assert.equal(found.ip, 6);
  assert.equal(found.error, null);
  assert.ok(found.latency_ms > 0);
});

Deno.test("connect -P, -p and -u keep the matching connects and drop the others", async () => {
  const a = await server("127.0.0.1", 2);
  const b = await server("127.0.0.1", 2);
  // Clients wait before connecting, so the tracer can be told their PIDs.
  const client = { host: "127.0.0.1", send: 1, expect: 1, comm: "tt-client" };
  const root = Peer.spawn("connect", { ...client, port: a.port, "delay-ms": 1500 });
  const nobody = Peer.spawn("connect", { ...client, port: b.port, "delay-ms": 1500 }, NOBODY);
  const tracers = {
    port: await Tracer.start(["connect", "-P", String(a.port)]),
    pid: await Tracer.start(["connect", "-p", String(nobody.pid)]),
    uid: await Tracer.start(["connect", "-U", "-u", String(NOBODY)]),
  };
  await Promise.all([root.finished(), nobody.finished()]);
  // Second round, swapped ports: -P must keep root's old target, now used by nobody.
  const root2 = Peer.spawn("connect", { ...client, port: b.port });
  const nobody2 = Peer.spawn("connect", { ...client, port: a.port }, NOBODY);
  await Promise.all([root2.finished(), nobody2.finished(), a.peer.finished(), b.peer.finished()]);
  await until(
    "nobody's connect",
    () => linesOf(tracers.uid.lines().join("\n"), nobody2.pid).length > 0,
  );
  const out = {
    port: (await tracers.port.stop()).stdout,
    pid: (await tracers.pid.stop()).stdout,
    uid: (await tracers.uid.stop()).stdout,
  };
  const row = (pid: number, dport: number) =>
    line({ pid, ip: 4, saddr: "127.0.0.1", daddr: "127.0.0.1", dport });
  // -P a.port: root's first connect and nobody's second.
  assert.deepEqual(linesOf(out.port, root.pid), [row(root.pid, a.port)]);
  assert.deepEqual(linesOf(out.port, nobody2.pid), [row(nobody2.pid, a.port)]);
  assert.deepEqual(linesOf(out.port, root2.pid), []);
  assert.deepEqual(linesOf(out.port, nobody.pid), []);
  for (const l of out.port.split("\n").slice(2, -1)) {
    assert.ok(l.endsWith(` ${String(a.port).padEnd(6)} `), l);
  }
  // -p nobody.pid: only that process.
  assert.deepEqual(out.pid.split("\n").slice(2, -1), [row(nobody.pid, b.port)]);
  // -u 65534: both of nobody's connects, none of root's; -U shows the UID.
  assert.deepEqual(linesOf(out.uid, nobody.pid), [
    String(NOBODY).padEnd(6) + row(nobody.pid, b.port),
  ]);
  assert.deepEqual(linesOf(out.uid, nobody2.pid), [
    String(NOBODY).padEnd(6) + row(nobody2.pid, a.port),
  ]);
  for (const l of out.uid.split("\n").slice(2, -1)) assert.ok(l.startsWith(String(NOBODY)), l);
});

Deno.test("connect -4 and -6 keep one address family and drop the other", async () => {
  for (const [flag, ip] of [["-4", 4], ["-6", 6]] as const) {
    const tracer = await Tracer.start(["connect", flag]);
    const v4 = await exchange("127.0.0.1", { up: 1, down: 1 });
    const v6 = await exchange("::1", { up: 1, down: 1 });
    const [kept, dropped] = ip === 4 ? [v4, v6] : [v6, v4];
    await until(
      "the kept connect",
      () => linesOf(tracer.lines().join("\n"), kept.client.pid).length > 0,
    );
    const { stdout } = await tracer.stop();
    assert.equal(linesOf(stdout, kept.client.pid).length, 1);
    assert.deepEqual(linesOf(stdout, dropped.client.pid), []);
    for (const l of stdout.split("\n").slice(2, -1)) assert.equal(l.split(/ +/)[2], String(ip), l);
  }
});

Deno.test("connect -c counts the connects per source, destination and port", async () => {
  const tracer = await Tracer.start(["connect", "-c"]);
  const v4 = await exchange("127.0.0.1", { count: 3, up: 1, down: 1 });
  const v6 = await exchange("::1", { count: 2, up: 1, down: 1 });
  const { code, stdout } = await tracer.stop();
  assert.equal(code, 0);
  const lines = stdout.split("\n");
  assert.deepEqual(lines.slice(0, 3), [
    BANNER,
    "",
    "LADDR                     RADDR                     RPORT                CONNECTS  ",
  ]);
  const row = (address: string, port: number, n: number) =>
    `${address.padEnd(25)} ${address.padEnd(25)} ${String(port).padEnd(20)} ${
      String(n).padEnd(10)
    }`;
  const v4Row = lines.indexOf(row("127.0.0.1", v4.serverPort, 3));
  const v6Row = lines.indexOf(row("::1", v6.serverPort, 2));
  assert.ok(v4Row > 2 && v6Row > v4Row, stdout);
});

Deno.test("connect rejects bad input with a one-line error and exit status 2", async () => {
  const cases: [string[], string][] = [
    [["connect", "-u", "x"], "tcptools connect: error: argument -u/--uid: invalid UID: 'x'"],
    [["connect", "-P", "0"], "tcptools connect: error: argument -P/--port: invalid port: '0'"],
    [["connect", "-p", "-1"], "tcptools connect: error: argument -p/--pid: expected one argument"],
    [
      ["connect", "-4", "-6"],
      "tcptools connect: error: argument -6/--ipv6: not allowed with argument -4/--ipv4",
    ],
    [
      ["connect", "-c", "--json"],
      "tcptools connect: error: argument --json: not allowed with argument -c/--count",
    ],
    [["connect", "-x"], "tcptools connect: error: unrecognized arguments: -x"],
  ];
  await assertUsageErrors(cases);
});

Deno.test("connect shows an IPv4-mapped connect of an IPv6 socket as IPv4, except under -6, in text and JSON", async () => {
  for (const [flags, ip] of [[[], 4], [["-4"], 4], [["-6"], 6]] as const) {
    const { lines, pid, port, address } = await mappedRefusedConnect("connect", flags, ip);
    assert.deepEqual(lines, [line({ pid, ip, saddr: address, daddr: address, dport: port })]);
  }
});

Deno.test("connect reports only connects that sent a SYN: none when no local port is free", async () => {
  // Two local ports, no reuse of TIME_WAIT ones: of three connects to one
  // server, the third fails inside connect() with EADDRNOTAVAIL. The client
  // runs in a namespace and a cgroup of its own, below the cgroup v2 root.
  await using ns = await NetworkNamespace.create({
    "net.ipv4.ip_local_port_range": "40000 40001",
    "net.ipv4.tcp_tw_reuse": "0",
  });
  using cgroup = ChildCgroup.create();
  const modes = [["connect"], ["connect", "-L"], ["connect", "--json"], ["connect", "-c"]];
  for (const [i, args] of modes.entries()) {
    const json = args.includes("--json");
    const tracer = await Tracer.start(args, { waitForHeader: !json });
    if (json) await tracer.probeUntilFirstLine(() => exchange("127.0.0.1", { up: 1, down: 1 }));
    const port = 5000 + i; // outside the namespace's ephemeral range
    const server = Peer.spawn(
      "serve",
      { host: "127.0.0.1", port, count: 2, send: 1, expect: 1 },
      undefined,
      ns.prefix,
    );
    await server.report(1);
    const client = Peer.spawn(
      "connect",
      { host: "127.0.0.1", port, count: 3, send: 1, expect: 1, comm: "tt-client" },
      undefined,
      [...cgroup.prefix, ...ns.prefix],
    );
    const reports = await client.finished();
    await server.finished();
    assert.deepEqual(reports[2], { unavailable: true });
    const lports = reports.slice(0, 2).map((r) => r.lport as number);
    assert.deepEqual([...lports].sort(), [40000, 40001]);
    if (args.includes("-c")) {
      const { stdout } = await tracer.stop();
      const row = `${"127.0.0.1".padEnd(25)} ${"127.0.0.1".padEnd(25)} ${String(port).padEnd(20)} `;
      assert.deepEqual(stdout.split("\n").filter((l) => l.startsWith(row)), [
        row + "2".padEnd(10),
      ]);
      continue;
    }
    // Lines come in ring buffer order: once a later connect shows, all of the client's have.
    const later = await exchange("127.0.0.1", { up: 1, down: 1 });
    await until(
      "a later connect",
      () => linesOf(tracer.lines().join("\n"), later.client.pid).length > 0,
    );
    const { stdout } = await tracer.stop();
    const found = linesOf(stdout, client.pid);
    const address = { pid: client.pid, ip: 4, saddr: "127.0.0.1", daddr: "127.0.0.1", dport: port };
    if (json) {
      assert.deepEqual(
        found.map((l) => JSON.parse(l)).map((o) => [o.pid, o.lport, o.dport, o.outcome]),
        lports.map((lport) => [client.pid, lport, port, "established"]),
      );
    } else if (args.includes("-L")) {
      assert.deepEqual(
        found,
        lports.map((lport) =>
          `${String(client.pid).padEnd(7)} ${"tt-client".padEnd(12)} ${"4".padEnd(2)} ` +
          `${"127.0.0.1".padEnd(16)} ${String(lport).padEnd(6)} ${"127.0.0.1".padEnd(16)} ` +
          `${String(port).padEnd(6)} `
        ),
      );
    } else {
      assert.deepEqual(found, [line(address), line(address)]);
    }
  }
});

Deno.test("connect without CAP_NET_ADMIN says it needs it, exit status 1", async () => {
  // The BPF capabilities only: enough for the tracepoint, not for sock_ops.
  const [cmd, args] = tcptools(["connect"]);
  const out = await new Deno.Command("setpriv", {
    args: [
      "--bounding-set=-net_admin,-sys_admin",
      "--inh-caps=-net_admin,-sys_admin",
      cmd,
      ...args,
    ],
    stdin: "null",
  }).output();
  assert.equal(out.code, 1);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.equal(
    new TextDecoder().decode(out.stderr),
    "tcptools connect: needs CAP_NET_ADMIN too (or CAP_SYS_ADMIN) to load its sock_ops program: " +
      "run it with sudo\n",
  );
});

Deno.test("connect and connlat lines never go back in time, with a connect that times out among fast ones", async () => {
  // 10.9.9.2 is routed into loopback, where nothing owns it: its SYNs vanish,
  // and with one SYN retry the connect times out after about 3 s.
  await using ns = await NetworkNamespace.create({ "net.ipv4.tcp_syn_retries": "1" });
  await ns.route(["10.9.9.2", "dev", "lo"]);
  const text = await Tracer.start(["connect", "-t", "-L"]);
  const latency = await Tracer.start(["connlat", "-t"]);
  const json = await Tracer.start(["connect", "--json"], { waitForHeader: false });
  await json.probeUntilFirstLine(() => exchange("127.0.0.1", { up: 1, down: 1 }));
  const port = 6000;
  const server = Peer.spawn(
    "serve",
    { host: "127.0.0.1", port, count: 3, send: 1, expect: 1 },
    undefined,
    ns.prefix,
  );
  await server.report(1);
  const client = { host: "127.0.0.1", port, send: 1, expect: 1, comm: "tt-client" };
  const slow = Peer.spawn("connect", { host: "10.9.9.2", port: 80, comm: "tt-client" }, undefined, [
    ...ns.prefix,
  ]);
  // Two fast connects while the slow one waits, one after it timed out.
  const during = Peer.spawn(
    "connect",
    { ...client, count: 2, "delay-ms": 500 },
    undefined,
    ns.prefix,
  );
  await during.finished();
  const [timedOut] = await slow.finished();
  assert.equal(timedOut.timed_out, true);
  const after = Peer.spawn("connect", client, undefined, ns.prefix);
  await after.finished();
  await server.finished();
  for (const tracer of [text, latency, json]) {
    await until("the last connect", () => linesOf(tracer.lines().join("\n"), after.pid).length > 0);
  }
  const out = {
    text: (await text.stop()).stdout,
    latency: (await latency.stop()).stdout,
    json: (await json.stop()).stdout,
  };

  const assertNonDecreasing = (times: number[], what: string) => {
    for (const [i, t] of times.entries()) {
      assert.ok(Number.isFinite(t) && t >= 0, `${what}: time ${t}`);
      if (i > 0) assert.ok(t >= times[i - 1], `${what}: ${t} after ${times[i - 1]}`);
    }
  };
  const seconds = (stdout: string, skip: number) =>
    stdout.trimEnd().split("\n").slice(skip).map((l) => {
      assert.match(l, /^\d+\.\d{3} +\d/);
      return Number(l.slice(0, 9));
    });
  assertNonDecreasing(seconds(out.text, 2), "connect -t -L");
  assertNonDecreasing(seconds(out.latency, 1), "connlat -t");
  const objects = out.json.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertNonDecreasing(
    objects.map((o) => {
      assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      return Date.parse(o.time) * 1000 + Number(o.time.slice(23, 26));
    }),
    "connect --json",
  );

  // Each connect once: the slow one in connect's outputs only, as timed out in JSON.
  for (const [pid, n] of [[slow.pid, 1], [during.pid, 2], [after.pid, 1]]) {
    assert.equal(linesOf(out.text, pid).length, n, out.text);
    assert.equal(linesOf(out.json, pid).length, n, out.json);
    assert.equal(linesOf(out.latency, pid).length, pid === slow.pid ? 0 : n, out.latency);
  }
  const [slowJson] = objects.filter((o) => o.pid === slow.pid);
  assert.equal(slowJson.outcome, "timed-out");
  assert.equal(slowJson.error, 110);
  assert.ok(slowJson.latency_ms > 2000 && slowJson.latency_ms <= (timedOut.connect_ms as number));
});

Deno.test("connect where no cgroup v2 hierarchy is mounted reaches the root through a mount of its own", async () => {
  // A private mount namespace without the host's cgroup2 mount.
  const unmounted = [
    "unshare",
    "--mount",
    "--propagation=private",
    "sh",
    "-c",
    'umount "$1" && shift && exec "$@"',
    "sh",
    cgroupV2Root()!,
  ];
  const tracer = await Tracer.start(["connect"], { prefix: unmounted });
  assert.doesNotMatch(Deno.readTextFileSync(`/proc/${tracer.pid}/mountinfo`), / - cgroup2 /);
  const x = await exchange("127.0.0.1", { up: 1, down: 1 });
  await until("the connect", () => linesOf(tracer.lines().join("\n"), x.client.pid).length > 0);
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0, stderr);
  assert.deepEqual(linesOf(stdout, x.client.pid), [
    line({ pid: x.client.pid, ip: 4, saddr: "127.0.0.1", daddr: "127.0.0.1", dport: x.serverPort }),
  ]);
});

/** bcc's tcpconnlat line up to LAT(ms), then the latency. */
function latencyLine(line: string, c: { pid: number; daddr: string; dport: number }): number {
  const start = `${String(c.pid).padEnd(7)} ${"tt-client".padEnd(12)} 4  ${c.daddr.padEnd(16)} ` +
    `${c.daddr.padEnd(16)} ${String(c.dport).padEnd(5)} `;
  assert.ok(line.startsWith(start), `${line}\n!= ${start}`);
  assert.match(line.slice(start.length), /^\d+\.\d\d$/);
  return Number(line.slice(start.length));
}

Deno.test("connect --failed and connlat --failed print refused, timed-out, unreachable and aborted connects at their answer, and no established one", async () => {
  // Two addresses of the namespace's own: SYNs to 10.9.9.2:80 are dropped
  // (one SYN retry: timed out after about 3 s), those to 10.9.9.3:80 answered
  // with ICMP host unreachable.
  await using ns = await NetworkNamespace.create({ "net.ipv4.tcp_syn_retries": "1" });
  await ns.run(["ip", "addr", "add", "10.9.9.2/32", "dev", "lo"]);
  await ns.run(["ip", "addr", "add", "10.9.9.3/32", "dev", "lo"]);
  await ns.run(
    ["nft", "-f", "-"],
    `table ip tt {
    chain in {
      type filter hook input priority 0;
      ip daddr 10.9.9.2 tcp dport 80 drop
      ip daddr 10.9.9.3 tcp dport 80 reject with icmp type host-unreachable
    }
  }`,
  );
  const text = await Tracer.start(["connect", "--failed"]);
  const latency = await Tracer.start(["connlat", "--failed"]);
  const counts = await Tracer.start(["connect", "--failed", "-c"]);
  const json = await Tracer.start(["connect", "--failed", "--json"], { waitForHeader: false });
  const probe = closedPort("127.0.0.1");
  await json.probeUntilFirstLine(() =>
    Peer.spawn("connect", { host: "127.0.0.1", port: probe }).finished()
  );

  const client = { port: 80, comm: "tt-client" };
  const timedOut = Peer.spawn("connect", { ...client, host: "10.9.9.2" }, undefined, ns.prefix);
  const aborted = Peer.spawn(
    "connect",
    { ...client, host: "10.9.9.2", "abort-ms": 300 },
    undefined,
    ns.prefix,
  );
  const refused = Peer.spawn("connect", { ...client, host: "10.9.9.3", port: 81 }, undefined, [
    ...ns.prefix,
  ]);
  // A blocking connect(): an ICMP error that comes while connect() holds the
  // socket is only kept as a soft error, which a non-blocking caller reading
  // SO_ERROR takes away before it closes (then the kernel sees an abort).
  const unreachable = await SessionEnd.client("tt-client", "10.9.9.3", 80, ns.name);
  const server = Peer.spawn(
    "serve",
    { host: "10.9.9.3", port: 82, send: 1, expect: 1 },
    undefined,
    [
      ...ns.prefix,
    ],
  );
  await server.report(1);
  const established = Peer.spawn(
    "connect",
    { ...client, host: "10.9.9.3", port: 82, send: 1, expect: 1 },
    undefined,
    ns.prefix,
  );
  await assert.rejects(unreachable.do("connect"), /errno 113$/);
  await unreachable.stop();
  const [ok] = await established.finished();
  await server.finished();
  assert.ok((ok.lport as number) > 0);
  const [refusedReport] = await refused.finished();
  assert.equal(refusedReport.refused, true);
  assert.deepEqual(await aborted.finished(), [{ aborted: true }]);
  const [timedOutReport] = await timedOut.finished();
  assert.equal(timedOutReport.timed_out, true);

  const failed = [
    { pid: timedOut.pid, daddr: "10.9.9.2", dport: 80, outcome: "timed-out", error: 110 },
    { pid: aborted.pid, daddr: "10.9.9.2", dport: 80, outcome: "aborted", error: null },
    { pid: refused.pid, daddr: "10.9.9.3", dport: 81, outcome: "refused", error: 111 },
    { pid: unreachable.pid, daddr: "10.9.9.3", dport: 80, outcome: "unreachable", error: 113 },
  ];
  for (const tracer of [text, latency, json]) {
    await until("every failed connect", () => {
      const out = tracer.lines().join("\n");
      return failed.every((f) => linesOf(out, f.pid).length > 0);
    });
  }
  const out = {
    text: await text.stop(),
    latency: await latency.stop(),
    counts: await counts.stop(),
    json: await json.stop(),
  };
  for (const o of Object.values(out)) assert.equal(o.code, 0, o.stderr);

  // The source of a connect to an address of the host's own is that address.
  for (const f of failed) {
    assert.deepEqual(linesOf(out.text.stdout, f.pid), [
      line({ pid: f.pid, ip: 4, saddr: f.daddr, daddr: f.daddr, dport: f.dport }),
    ]);
    const [lat] = linesOf(out.latency.stdout, f.pid);
    const ms = latencyLine(lat, f);
    const [object] = linesOf(out.json.stdout, f.pid).map((l) => JSON.parse(l));
    assert.equal(object.outcome, f.outcome);
    assert.equal(object.error, f.error);
    // Two tracers, each timing from its own program run: microseconds apart.
    assert.ok(Math.abs(object.latency_ms - ms) < 1, `${object.latency_ms} vs ${ms}`);
    if (f.outcome === "timed-out") {
      assert.ok(ms > 2000 && ms <= (timedOutReport.connect_ms as number), `${ms}`);
    }
    if (f.outcome === "aborted") assert.ok(ms >= 250 && ms < 2000, `${ms}`);
  }
  for (const o of [out.text, out.latency, out.json]) {
    assert.deepEqual(linesOf(o.stdout, established.pid), [], "the established connect");
  }
  assert.equal(
    out.text.stdout.split("\n")[1],
    "PID     COMM         IP SADDR            DADDR            DPORT ",
  );
  assert.equal(
    out.latency.stdout.split("\n")[0],
    "PID     COMM         IP SADDR            DADDR            DPORT LAT(ms)",
  );
  // -c --failed counts them per destination; the established one is not counted.
  const rows = out.counts.stdout.split("\n").filter((l) => l.startsWith("10.9.9."));
  assert.deepEqual(rows.map((r) => r.trimEnd().split(/ +/).join(" ")).sort(), [
    "10.9.9.2 10.9.9.2 80 2",
    "10.9.9.3 10.9.9.3 80 1",
    "10.9.9.3 10.9.9.3 81 1",
  ]);
});
