/**
 * `tcptools life` end to end: the real BPF program in the running kernel,
 * real loopback sessions made by peer processes, every field checked against
 * what the peers did.
 */
import assert from "node:assert/strict";
import {
  assertUsageErrors,
  type Exchange,
  exchange,
  Peer,
  runTcptools,
  tcptools,
  tcptoolsOnTerminal,
  Tracer,
  until,
  withoutIdentity,
} from "./harness.ts";
import { VERSION } from "../src/version.ts";

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
      const { time, span_ms, ...rest } = withoutIdentity(found[0]);
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
        uid: 0,
      });
      assert.equal(typeof span_ms, "number");
      assert.ok(span_ms > 0 && span_ms <= after - before);
      const t = Date.parse(time);
      assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.ok(t >= before - 5 && t <= after + 5, `time ${time} outside the exchange`);
    }
  }
});

/** Data lines of the default format, split into columns. */
function rows(stdout: string): string[][] {
  return stdout.trimEnd().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
}

Deno.test("life -p keeps the sessions of that process and drops the others", async () => {
  const server = Peer.spawn("serve", {
    host: "127.0.0.1",
    send: DOWN,
    expect: UP,
    comm: "tt-server",
  });
  const serverPort = (await server.report(1)).port as number;
  const tracer = await Tracer.start(["life", "-p", String(server.pid)]);
  const client = Peer.spawn("connect", {
    host: "127.0.0.1",
    port: serverPort,
    send: UP,
    expect: DOWN,
    comm: "tt-client",
  });
  const [{ lport }] = await client.finished();
  await server.finished();
  await until("the server's session", () => has(tracer.lines(), lport as number));
  const { code, stdout } = await tracer.stop();
  assert.equal(code, 0);
  const { server: end } = ends(
    { server, client, serverPort, clientPorts: [lport as number] },
    "127.0.0.1",
  );
  assert.ok(lineMs(stdout.split("\n"), columnsPrefix(end)) > 0);
  for (const row of rows(stdout)) assert.equal(row[0], String(server.pid), row.join(" "));
});

Deno.test("life -L keeps sessions on those local ports, -D those on remote ports", async () => {
  for (const flag of ["-L", "-D"]) {
    const server = Peer.spawn("serve", {
      host: "::1",
      count: 2,
      send: DOWN,
      expect: UP,
      comm: "tt-server",
    });
    const serverPort = (await server.report(1)).port as number;
    const tracer = await Tracer.start(["life", flag, `1,${serverPort},65535`]);
    const client = Peer.spawn("connect", {
      host: "::1",
      port: serverPort,
      count: 2,
      send: UP,
      expect: DOWN,
      comm: "tt-client",
    });
    const reports = await client.finished();
    await server.finished();
    const x = { server, client, serverPort, clientPorts: reports.map((r) => r.lport as number) };
    const wanted = (i: number) =>
      flag === "-L" ? ends(x, "::1", i).server : ends(x, "::1", i).client;
    await until("both sessions", () => tracer.lines().length >= 3);
    const { code, stdout } = await tracer.stop();
    assert.equal(code, 0);
    for (const i of [0, 1]) assert.ok(lineMs(stdout.split("\n"), columnsPrefix(wanted(i))) > 0);
    const portColumn = flag === "-L" ? 3 : 5;
    for (const row of rows(stdout)) {
      assert.equal(row[portColumn], String(serverPort), row.join(" "));
    }
  }
});

Deno.test("life -4 and -6 keep one address family and drop the other", async () => {
  for (const [flag, ip] of [["-4", "4"], ["-6", "6"]]) {
    const tracer = await Tracer.start(["life", flag, "-w"]);
    const v4 = await exchange("127.0.0.1");
    const v6 = await exchange("::1");
    const kept = ip === "4" ? ends(v4, "127.0.0.1") : ends(v6, "::1");
    await until("the kept sessions", () => has(tracer.lines(), kept.client.lport));
    const { code, stdout } = await tracer.stop();
    assert.equal(code, 0);
    const lines = stdout.split("\n");
    for (const end of [kept.client, kept.server]) {
      assert.ok(lineMs(lines, widePrefix(end, Number(ip))) > 0);
    }
    for (const row of rows(stdout)) assert.equal(row[2], ip, row.join(" "));
  }
});

Deno.test("life rejects bad input with a one-line error and exit status 2", async () => {
  const cases: [string[], string][] = [
    [["life", "-x"], "tcptools life: error: unrecognized arguments: -x"],
    [["life", "--bogus"], "tcptools life: error: unrecognized arguments: --bogus"],
    [["life", "-p", "abc"], "tcptools life: error: argument -p/--pid: invalid PID: 'abc'"],
    [["life", "-p", "0"], "tcptools life: error: argument -p/--pid: invalid PID: '0'"],
    [["life", "-p"], "tcptools life: error: argument -p/--pid: expected one argument"],
    [
      ["life", "-L", "70000"],
      "tcptools life: error: argument -L/--localport: invalid port: '70000'",
    ],
    [["life", "-D", "80,0"], "tcptools life: error: argument -D/--remoteport: invalid port: '0'"],
    [["life", "-L", "http"], "tcptools life: error: argument -L/--localport: invalid port: 'http'"],
    [
      ["life", "-4", "-6"],
      "tcptools life: error: argument -6/--ipv6: not allowed with argument -4/--ipv4",
    ],
    [
      ["life", "-s", "--json"],
      "tcptools life: error: argument --json: not allowed with argument -s/--csv",
    ],
    [["life", "extra"], "tcptools life: error: unrecognized arguments: extra"],
    [["nosuch"], "tcptools: error: unknown command 'nosuch'"],
  ];
  await assertUsageErrors(cases);
});

Deno.test("life --help, tcptools --help and --version print to stdout and exit 0", async () => {
  const help = await runTcptools(["life", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: tcptools life \[-h\] \[-T\] \[-t\] \[-w\]/);
  assert.match(help.stdout, /\nexamples:\n {4}tcptools life +# trace all TCP sessions\n/);
  const top = await runTcptools(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^usage: tcptools <command>/);
  assert.match(top.stdout, /\n {2}life +one line per TCP session/);
  const version = await runTcptools(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^tcptools \d+\.\d+\.\d+\n$/);
});

Deno.test("--help and --version end quietly, status 0, when stdout is already closed", async () => {
  for (const args of [["life", "--help"], ["--help"], ["--version"]]) {
    // The reader (:) is gone before tcptools starts writing: every write fails with EPIPE.
    const script = 'exec 3>&1; { sleep 0.2; "$@"; echo "status $?" >&3; } | :';
    const out = await new Deno.Command("sh", {
      args: ["-c", script, "sh", ...tcptools(args).flat()],
      stdin: "null",
    }).output();
    const what = args.join(" ");
    assert.equal(new TextDecoder().decode(out.stdout), "status 0\n", what);
    assert.equal(new TextDecoder().decode(out.stderr), "", what);
  }
});

Deno.test("on a terminal, life shows its header and session lines and nothing else", async () => {
  // Deno itself writes to a terminal what it keeps quiet on a pipe (it once
  // greeted every user with three "Failed to open cache file" lines).
  const tracer = await Tracer.start(["life"], { terminal: true });
  const x = await exchange("127.0.0.1");
  const port = x.clientPorts[0];
  await until("both ends", () => tracer.lines().filter((l) => has([l], port)).length === 2);
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  assert.equal(stderr, "");
  assert.ok(stdout.endsWith("\r\n"), "lines end as a terminal shows them");
  const lines = stdout.slice(0, -2).split("\r\n");
  assert.equal(
    lines[0],
    "PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS",
  );
  const { client, server } = ends(x, "127.0.0.1");
  for (const end of [client, server]) assert.ok(lineMs(lines, columnsPrefix(end)) > 0);
  for (const line of lines.slice(1)) assert.match(line, /^\d+ +.{10} .* \d+\.\d\d$/);
});

Deno.test("on a terminal, --version and a usage error print only their own lines", async () => {
  const [cmd, args] = tcptoolsOnTerminal(["--version"]);
  const version = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  assert.equal(version.code, 0);
  assert.equal(new TextDecoder().decode(version.stdout), `tcptools ${VERSION}\r\n`);
  const [badCmd, badArgs] = tcptoolsOnTerminal(["life", "-x"]);
  const bad = await new Deno.Command(badCmd, { args: badArgs, stdin: "null" }).output();
  assert.equal(bad.code, 2);
  const lines = new TextDecoder().decode(bad.stdout).trimEnd().split("\r\n");
  assert.match(lines[0], /^usage: tcptools life \[-h\]/);
  assert.equal(lines.at(-1), "tcptools life: error: unrecognized arguments: -x");
  for (const line of lines.slice(1, -1)) assert.match(line, /^ {21}\[/);
});

Deno.test("life without privileges says what it needs, exit status 1", async () => {
  // Root's user ID without any capability: what an unprivileged user has.
  const [cmd, args] = tcptools(["life"]);
  const out = await new Deno.Command("setpriv", {
    args: [
      "--bounding-set=-all",
      "--inh-caps=-all",
      "--securebits=+noroot,+noroot_locked",
      "--",
      cmd,
      ...args,
    ],
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.equal(
    stderr,
    "tcptools life: needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) to load BPF programs: " +
      "run it with sudo\n",
  );
});

Deno.test("life without kernel BTF says so in one line, exit status 1", async () => {
  const { code, stdout, stderr } = await runTcptools(["life"], {
    TCPTOOLS_BTF: "/nonexistent/vmlinux",
  });
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /^tcptools life: no kernel BTF at \/nonexistent\/vmlinux: .*CONFIG_DEBUG_INFO_BTF/,
  );
  assert.equal(stderr.split("\n").length, 2, "one line");
});

Deno.test("life ends cleanly with status 0 on SIGTERM and SIGHUP", async () => {
  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    const tracer = await Tracer.start(["life"]);
    const x = await exchange("127.0.0.1");
    await until("a session", () => has(tracer.lines(), x.clientPorts[0]));
    const { code, stderr } = await tracer.stop(signal);
    assert.equal(code, 0, signal);
    assert.equal(stderr, "");
  }
});

Deno.test("life exits with status 0 when its stdout is closed, and counts what it could not print", async () => {
  const [cmd, args] = tcptools(["life"]);
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  const reader = child.stdout.getReader();
  const header = await reader.read(); // attached
  assert.ok(header.value && header.value.length > 0);
  await reader.cancel(); // closes our end of the pipe, like `| head -1` exiting
  for (let i = 0; i < 3; i++) await exchange("127.0.0.1", { up: 1, down: 1 });
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(status.code, 0);
  assert.match(
    stderr,
    /^tcptools life: \d+ events captured but not printed: the reader of stdout went away\n$/,
  );
});

Deno.test("life counts and reports every session a full ring buffer could not take", async () => {
  const sessions = 100;
  const server = Peer.spawn("serve", { host: "127.0.0.1", count: sessions, send: 1, expect: 1 });
  const serverPort = (await server.report(1)).port as number;
  // One page of ring buffer holds 39 records; only the server's sessions pass -L.
  const tracer = await Tracer.start(["life", "-s", "--ring-kb", "4", "-L", String(serverPort)]);
  tracer.signal("SIGSTOP"); // the consumer stalls while the sessions close
  const client = Peer.spawn("connect", {
    host: "127.0.0.1",
    port: serverPort,
    count: sessions,
    send: 1,
    expect: 1,
  });
  await client.finished();
  await server.finished();
  tracer.signal("SIGCONT");
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  const printed = stdout.trimEnd().split("\n").slice(1);
  for (const row of printed) assert.equal(row.split(",")[4], String(serverPort));
  const reports = [...stderr.matchAll(/^tcptools life: lost (\d+) events \((\d+) in total\)/gm)];
  assert.ok(reports.length > 0, `no loss reported: ${stderr}`);
  const lost = Number(reports[reports.length - 1][2]);
  assert.equal(reports.reduce((sum, r) => sum + Number(r[1]), 0), lost);
  assert.ok(lost > 0);
  assert.equal(printed.length + lost, sessions, "every session is printed or counted as lost");
});
