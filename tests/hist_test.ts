/**
 * `--hist` end to end (`life --hist`, `connlat --hist`): sessions and
 * connects the test makes, with byte counts it chose, durations it held
 * them open for and a latency it caused (first SYNs dropped), each counted
 * in the one bucket the test expects, in the histogram of the process,
 * name or port it belongs to. Other tests and processes may make traffic
 * meanwhile: every check is of a histogram only this test's processes
 * fill, or of a scope only they are in.
 */
import assert from "node:assert/strict";
import { assertUsageErrors, exchange, Peer, Tracer, until } from "./harness.ts";
import { ChildCgroup } from "./child_cgroup.ts";
import { NetworkNamespace } from "./netns.ts";
import { SessionEnd } from "./session_end.ts";

/** Counts by row ("low -> high"), rows with no count left out. */
type Rows = Record<string, number>;

const HEADER = /^ +(usecs|msecs|bytes) +: count {5}distribution$/;
const ROW = /^ *(\d+) -> (\d+) *: (\d+) +\|([* ]+)\|$/;

/**
 * The histograms of one print, by title ("" for a single one), read back
 * from bcc's layout: a header, then rows from "0 -> 1" up, each twice as
 * wide as the one before it, each bar full for the largest count.
 */
function readPrint(lines: string[], unit: string): Map<string, Rows> {
  const histograms = new Map<string, Rows>();
  let title = "";
  let expectedLow = 0n;
  let rows: Rows | undefined;
  let max = 0;
  const bars: [number, string][] = [];
  const checkBars = () => {
    for (const [count, bar] of bars) {
      assert.equal(bar.length, 40, bar);
      assert.equal(bar.trimEnd().length, Math.floor((40 * count) / max), `bar of ${count}/${max}`);
    }
    bars.length = 0;
    max = 0;
  };
  for (const line of lines) {
    const header = HEADER.exec(line);
    const row = ROW.exec(line);
    if (header) {
      assert.equal(header[1], unit);
      checkBars();
      rows = {};
      histograms.set(title, rows);
      expectedLow = 0n;
    } else if (row && rows) {
      assert.equal(BigInt(row[1]), expectedLow, line);
      assert.equal(BigInt(row[2]), expectedLow === 0n ? 1n : expectedLow * 2n - 1n, line);
      expectedLow = expectedLow === 0n ? 2n : expectedLow * 2n;
      const count = Number(row[3]);
      if (count > 0) rows[`${row[1]} -> ${row[2]}`] = count;
      max = Math.max(max, count);
      bars.push([count, row[4]]);
    } else if (line !== "") {
      assert.match(line, /^(pid|comm|port) = /);
      title = line;
      rows = undefined;
    }
  }
  checkBars();
  return histograms;
}

/** The prints of an --interval run: each an empty line, HH:MM:SS, then its histograms. */
function prints(stdout: string): string[][] {
  const lines = stdout.split("\n");
  assert.match(lines[0], /^Tracing .*\.\.\. Hit Ctrl-C to end\.$/);
  const result: string[][] = [];
  for (let i = 1; i < lines.length - 1; i++) {
    if (lines[i] === "" && /^\d\d:\d\d:\d\d$/.test(lines[i + 1])) result.push([]);
    else if (!/^\d\d:\d\d:\d\d$/.test(lines[i])) result.at(-1)!.push(lines[i]);
  }
  return result;
}

/** The one print of a run without --interval: banner, empty line, histograms. */
function finalPrint(stdout: string, unit: string): Map<string, Rows> {
  const [banner, empty, ...rest] = stdout.trimEnd().split("\n");
  assert.match(banner, /^Tracing .*\.\.\. Hit Ctrl-C to end\.$/);
  assert.equal(empty, "");
  return readPrint(rest, unit);
}

/** The row of `value` in bcc's log2 histograms ("0 -> 1" holds 0 and 1). */
function rowOf(value: number): string {
  if (value < 2) return "0 -> 1";
  const low = 2 ** Math.floor(Math.log2(value));
  return `${low} -> ${low * 2 - 1}`;
}

/** `life --hist bytes --hist-by pid`, then `flags`. */
const bytesByPid = (
  ...flags: string[]
) => ["life", "--hist", "bytes", "--hist-by", "pid", ...flags];

/** Stops a tracer and checks a clean end: status 0, nothing on stderr. */
async function stopped(tracer: Tracer, signal: Deno.Signal = "SIGINT"): Promise<string> {
  const { code, stdout, stderr } = await tracer.stop(signal);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  return stdout;
}

Deno.test("life --hist bytes counts each session's payload bytes in its bucket, per PID, name and server port", async () => {
  const byPid = await Tracer.start(bytesByPid());
  const byPort = await Tracer.start(["life", "--hist", "bytes", "--hist-by", "port"]);
  const byComm = await Tracer.start(["life", "--hist", "bytes", "--hist-by", "comm"]);
  // 1,500 bytes each way together (1024 -> 2047), three times; 100,000 up (65536 -> 131071), twice.
  const names = { clientComm: "tt-hist-client", serverComm: "tt-hist-server" };
  const small = await exchange("127.0.0.1", { count: 3, up: 1000, down: 500, ...names });
  const large = await exchange("::1", { count: 2, up: 100000, down: 0, ...names });
  const pids = await stopped(byPid);
  const ports = await stopped(byPort, "SIGTERM");
  const comms = await stopped(byComm);

  const perPid = finalPrint(pids, "bytes");
  for (const end of [small.client, small.server]) {
    assert.deepEqual(perPid.get(`pid = ${end.pid}`), { [rowOf(1500)]: 3 });
  }
  for (const end of [large.client, large.server]) {
    assert.deepEqual(perPid.get(`pid = ${end.pid}`), { [rowOf(100000)]: 2 });
  }
  // Both ends of a session are counted under the server's port.
  const perPort = finalPrint(ports, "bytes");
  assert.deepEqual(perPort.get(`port = ${small.serverPort}`), { [rowOf(1500)]: 6 });
  assert.deepEqual(perPort.get(`port = ${large.serverPort}`), { [rowOf(100000)]: 4 });
  const perComm = finalPrint(comms, "bytes");
  for (const comm of Object.values(names)) {
    assert.deepEqual(perComm.get(`comm = ${comm}`), { [rowOf(1500)]: 3, [rowOf(100000)]: 2 });
  }
});

/** Holds a session of `client` with `server` open for `holdMs`; returns how long it took in all. */
async function heldSession(client: SessionEnd, server: SessionEnd, holdMs: number) {
  const started = performance.now();
  await client.do("connect");
  await server.do("accept");
  await new Promise((resolve) => setTimeout(resolve, holdMs));
  await client.do("close");
  await server.do("eof");
  await server.do("close");
  return performance.now() - started;
}

Deno.test("life --hist counts each session's duration in its bucket, per PID, under -p, in usecs and msecs", async () => {
  const server = await SessionEnd.listen("tt-server", "127.0.0.1");
  const shorter = await SessionEnd.client("tt-client", "127.0.0.1", server.port);
  const longer = await SessionEnd.client("tt-client", "127.0.0.1", server.port);
  const byPid = await Tracer.start(["life", "--hist", "--hist-by", "pid"]);
  const onlyShorter = await Tracer.start(["life", "--hist", "-p", String(shorter.pid)]);
  const msecs = await Tracer.start(["life", "--hist", "-m", "--hist-by", "pid"]);
  // Each span lies between the hold and the whole exchange: both must fall in one bucket.
  const holds = [[shorter, 300], [longer, 1200]] as const;
  const rows: Record<string, string>[] = [];
  for (const [client, holdMs] of holds) {
    const tookMs = await heldSession(client, server, holdMs);
    const row = { usecs: rowOf(holdMs * 1000), msecs: rowOf(holdMs) };
    assert.equal(rowOf(tookMs * 1000), row.usecs, `the session took ${tookMs} ms`);
    assert.equal(rowOf(tookMs), row.msecs, `the session took ${tookMs} ms`);
    rows.push(row);
  }
  for (const end of [server, shorter, longer]) await end.stop();
  const [short, long] = rows;

  const perPid = finalPrint(await stopped(byPid), "usecs");
  assert.deepEqual(perPid.get(`pid = ${shorter.pid}`), { [short.usecs]: 1 });
  assert.deepEqual(perPid.get(`pid = ${longer.pid}`), { [long.usecs]: 1 });
  assert.deepEqual(perPid.get(`pid = ${server.pid}`), { [short.usecs]: 1, [long.usecs]: 1 });
  // -p: the shorter client's own session, nothing of the server's or the other client's.
  assert.deepEqual(
    finalPrint(await stopped(onlyShorter), "usecs"),
    new Map([["", { [short.usecs]: 1 }]]),
  );
  const perPidMs = finalPrint(await stopped(msecs), "msecs");
  assert.deepEqual(perPidMs.get(`pid = ${server.pid}`), { [short.msecs]: 1, [long.msecs]: 1 });
});

Deno.test("connlat --hist counts each connect's latency, per PID and per destination port: loopback low, two dropped SYNs about 3 s", async () => {
  // The first two SYNs of each connect to 10.9.9.2:4242 are dropped: the
  // third, sent after the initial RTO of 1 s and the next of 2 s, is answered.
  // Linux 6.x backs off linearly for the first SYN retries by default (1 s,
  // 1 s, ...): turned off, so that the timeouts are 1 s then 2 s.
  const linear = "net.ipv4.tcp_syn_linear_timeouts";
  const linearExists = (() => {
    try {
      return Deno.statSync(`/proc/sys/${linear.replaceAll(".", "/")}`).isFile;
    } catch {
      return false;
    }
  })();
  await using ns = await NetworkNamespace.create(linearExists ? { [linear]: "0" } : {});
  await ns.run(["ip", "addr", "add", "10.9.9.2/32", "dev", "lo"]);
  const seen = (name: string) =>
    `set ${name} { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 1m; }`;
  const drop = (name: string) =>
    `ip daddr 10.9.9.2 tcp dport 4242 tcp flags syn ip saddr . tcp sport != @${name} ` +
    `update @${name} { ip saddr . tcp sport } drop`;
  await ns.run(
    ["nft", "-f", "-"],
    `table ip tt {
      ${seen("first")}
      ${seen("second")}
      chain in {
        type filter hook input priority 0;
        ${drop("first")}
        ${drop("second")}
      }
    }`,
  );
  const byPid = await Tracer.start(["connlat", "--hist", "--hist-by", "pid"]);
  const byPort = await Tracer.start(["connlat", "--hist", "--hist-by", "port", "-m"]);
  const server = Peer.spawn(
    "serve",
    { host: "10.9.9.2", port: 4242, count: 1 },
    undefined,
    ns.prefix,
  );
  await server.report(1);
  const slow = Peer.spawn("connect", { host: "10.9.9.2", port: 4242 }, undefined, ns.prefix);
  const [slowReport] = await slow.finished();
  await server.finished();
  const fast = await exchange("127.0.0.1", { count: 2, up: 1, down: 1 });

  // The kernel's latency is at least the 3 s of the two timeouts and at
  // most what the client measured around connect().
  const slowMs = slowReport.connect_ms as number;
  assert.ok(slowMs >= 3000, `${slowMs}`);
  assert.equal(rowOf(slowMs * 1000), rowOf(3000 * 1000), `connect() took ${slowMs} ms`);
  const perPid = finalPrint(await stopped(byPid), "usecs");
  assert.deepEqual(perPid.get(`pid = ${slow.pid}`), { [rowOf(3000 * 1000)]: 1 });
  // Loopback connects: in rows no higher than the slowest connect() the client measured.
  const fastRows = perPid.get(`pid = ${fast.client.pid}`)!;
  assert.equal(Object.values(fastRows).reduce((a, b) => a + b), 2);
  const slowestUs = Math.max(...fast.client.reports().map((r) => r.connect_ms as number)) * 1000;
  for (const row of Object.keys(fastRows)) {
    assert.ok(parseInt(row) <= slowestUs, `${row}: ${slowestUs}`);
  }
  assert.equal(perPid.get(`pid = ${fast.server.pid}`), undefined); // it made no connect
  const perPort = finalPrint(await stopped(byPort), "msecs");
  assert.deepEqual(perPort.get("port = 4242"), { [rowOf(3000)]: 1 });
  assert.equal(Object.values(perPort.get(`port = ${fast.serverPort}`)!).reduce((a, b) => a + b), 2);
});

Deno.test("--interval prints what each interval counted, and what is left at the end", async () => {
  const tracer = await Tracer.start(bytesByPid("--interval", "1"));
  const seenIn = (pid: number) => () =>
    prints(tracer.lines().join("\n") + "\n").some((print) => print.includes(`pid = ${pid}`));
  const first = await exchange("127.0.0.1", { up: 1000, down: 500 });
  await until("the first session's print", seenIn(first.client.pid), 5000);
  const second = await exchange("127.0.0.1", { count: 2, up: 100000, down: 0 });
  await until("the second sessions' print", seenIn(second.client.pid), 5000);
  const all = prints(await stopped(tracer));
  assert.ok(all.length >= 3, `${all.length} prints`); // two intervals at least, and the end
  const printed = (pid: number) =>
    all.flatMap((print, i) => {
      const rows = readPrint(print, "bytes").get(`pid = ${pid}`);
      return rows ? [{ i, rows }] : [];
    });
  // Each session in one print only: an interval's counts are not printed again.
  const [a] = printed(first.client.pid);
  const [b] = printed(second.client.pid);
  assert.deepEqual(printed(first.client.pid), [{ i: a.i, rows: { [rowOf(1500)]: 1 } }]);
  assert.deepEqual(printed(second.client.pid), [{ i: b.i, rows: { [rowOf(100000)]: 2 } }]);
  assert.ok(a.i < b.i);
});

Deno.test("a full histogram map counts what it could not keep and reports it on stderr", async () => {
  // Only the test's own sessions (its cgroup): a client's and a server's, two
  // histograms in the same bucket, for one slot.
  using cgroup = ChildCgroup.create();
  const tracer = await Tracer.start(bytesByPid("--hist-limit", "1", "--cgroup", cgroup.path));
  const x = await exchange("127.0.0.1", { up: 1000, down: 500, prefix: cgroup.prefix });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // self-reports are checked each second
  const { code, stdout, stderr } = await tracer.stop();
  assert.equal(code, 0);
  assert.equal(
    stderr,
    "tcptools life: 1 sessions not counted (1 in total): the 1 histogram slots are full (--hist-limit)\n",
  );
  const histograms = finalPrint(stdout, "bytes");
  assert.equal(histograms.size, 1);
  const [[title, rows]] = histograms;
  assert.ok([`pid = ${x.client.pid}`, `pid = ${x.server.pid}`].includes(title), title);
  assert.deepEqual(rows, { [rowOf(1500)]: 1 });
});

Deno.test("--hist rejects the line formats' flags, and its own flags need it", async () => {
  const life = (dest: string) => `tcptools life: error: argument ${dest}`;
  const connlat = (dest: string) => `tcptools connlat: error: argument ${dest}`;
  await assertUsageErrors([
    [["life", "--hist", "--json"], life("--hist: not allowed with argument --json")],
    [["life", "--hist", "bytes", "-s"], life("--hist: not allowed with argument -s/--csv")],
    [["life", "--hist", "-w"], life("--hist: not allowed with argument -w/--wide")],
    [["life", "-T", "--hist"], life("--hist: not allowed with argument -T/--time")],
    [["life", "--hist", "-t"], life("--hist: not allowed with argument -t/--timestamp")],
    [["life", "--interval", "1"], life("--interval: only allowed with argument --hist")],
    [["life", "--hist-by", "pid"], life("--hist-by: only allowed with argument --hist")],
    [["life", "-m"], life("-m/--milliseconds: only allowed with argument --hist")],
    [["life", "--hist-limit", "5"], life("--hist-limit: only allowed with argument --hist")],
    [
      ["life", "--hist", "bytes", "-m"],
      life("-m/--milliseconds: not allowed with argument --hist bytes"),
    ],
    [
      ["life", "--hist", "other"],
      life("--hist: invalid choice: 'other' (choose from 'duration', 'bytes')"),
    ],
    [
      ["life", "--hist", "--hist-by", "uid"],
      life("--hist-by: invalid choice: 'uid' (choose from 'pid', 'comm', 'port')"),
    ],
    [["life", "--hist", "--interval", "0"], life("--interval: invalid interval: '0'")],
    [["life", "--hist", "--hist-limit", "0"], life("--hist-limit: invalid limit: '0'")],
    [["connlat", "--hist", "-L"], connlat("--hist: not allowed with argument -L/--lport")],
    [["connlat", "--hist", "--json"], connlat("--hist: not allowed with argument --json")],
    [["connlat", "--hist", "-t"], connlat("--hist: not allowed with argument -t/--timestamp")],
    [["connlat", "--hist", "bytes"], connlat("duration_ms: must be a float")],
    [["connlat", "--interval", "2"], connlat("--interval: only allowed with argument --hist")],
  ]);
});
