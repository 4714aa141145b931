/**
 * `tcptools metrics` end to end: a real Prometheus server scrapes it while
 * the test makes known traffic in a cgroup of its own (--cgroup, so that the
 * host's other connections do not count), and PromQL through Prometheus's
 * HTTP API must return exactly that traffic; `promtool check metrics`
 * accepts the exposition; --textfile is never seen half written; the
 * endpoint stays correct under hostile clients while connections flood.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChildCgroup } from "./child_cgroup.ts";
import { PinnedMaps } from "./container.ts";
import {
  assertUsageErrors,
  closedPort,
  exchange,
  Peer,
  runTcptools,
  Tracer,
  until,
} from "./harness.ts";
import { samples, scrape, scrapeUntil, startMetrics, total } from "./metrics_endpoint.ts";
import { join } from "./paths.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Runs `promtool check metrics` on `text`: its exit status and what it said. */
async function promtool(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(text));
  await writer.close();
  const out = await child.output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** A Prometheus server on loopback scraping `target` every second, with its own storage. */
class Prometheus implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  readonly port: number;

  constructor(target: string) {
    this.#dir = Deno.makeTempDirSync({ prefix: "tcptools-prometheus-" });
    const config = join(this.#dir, "prometheus.yml");
    Deno.writeTextFileSync(
      config,
      `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tcptools
    static_configs:
      - targets: ["${target}"]
`,
    );
    this.port = closedPort("127.0.0.1");
    this.#child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(this.#dir, "data")}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  /** The value of a PromQL expression with one result now, or undefined. */
  async query(expression: string): Promise<number | undefined> {
    const url = `http://127.0.0.1:${this.port}/api/v1/query?query=${
      encodeURIComponent(expression)
    }`;
    try {
      const body = await (await fetch(url)).json();
      const result = body?.data?.result as { value: [number, string] }[] | undefined;
      return result?.length === 1 ? Number(result[0].value[1]) : undefined;
    } catch {
      return undefined; // not up yet
    }
  }

  /** Waits until `expression` is `expected`, or fails with its last value. */
  async expect(expression: string, expected: number, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: number | undefined;
    while ((last = await this.query(expression)) !== expected) {
      if (Date.now() > deadline) {
        assert.fail(`${expression}: ${last}, expected ${expected}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.#child.status;
    Deno.removeSync(this.#dir, { recursive: true });
  }
}

/** `count` connects from `prefix` to a port nothing listens on; returns once all were refused. */
async function refusedConnects(count: number, prefix: string[]): Promise<void> {
  const client = Peer.spawn(
    "connect",
    { host: "127.0.0.1", port: closedPort("127.0.0.1"), count, comm: "tt-refused" },
    undefined,
    prefix,
  );
  const reports = await client.finished();
  assert.equal(reports.filter((r) => r.refused).length, count);
}

Deno.test("Prometheus scrapes exactly the connects, accepts, sessions and bytes the test made", async () => {
  using cgroup = ChildCgroup.create();
  const port = closedPort("127.0.0.1");
  const tracer = await startMetrics(["--cgroup", cgroup.path], port);
  try {
    await using prometheus = new Prometheus(`127.0.0.1:${port}`);
    await prometheus.expect('up{job="tcptools"}', 1);

    const sessions = 5, refused = 3, up = 3000, down = 1000;
    const x = await exchange("127.0.0.1", { count: sessions, up, down, prefix: cgroup.prefix });
    await refusedConnects(refused, cgroup.prefix);

    const sum = (selector: string) => `sum(${selector})`;
    await prometheus.expect(
      sum('tcptools_connects_total{outcome="established",family="ipv4"}'),
      sessions,
    );
    await prometheus.expect(
      sum('tcptools_connects_total{outcome="refused",family="ipv4"}'),
      refused,
    );
    await prometheus.expect(sum("tcptools_connects_total"), sessions + refused);
    await prometheus.expect(
      sum(`tcptools_accepts_total{family="ipv4",port="${x.serverPort}"}`),
      sessions,
    );
    await prometheus.expect(sum("tcptools_accepts_total"), sessions);
    // Both ends of each session, and each refused connect (born at SYN_SENT, as in life).
    await prometheus.expect(
      sum('tcptools_sessions_closed_total{family="ipv4"}'),
      2 * sessions + refused,
    );
    await prometheus.expect(sum("tcptools_sent_bytes_total"), sessions * (up + down));
    await prometheus.expect(sum("tcptools_received_bytes_total"), sessions * (up + down));
    await prometheus.expect("tcptools_connect_latency_seconds_count", sessions + refused);
    await prometheus.expect(
      'tcptools_connect_latency_seconds_bucket{le="+Inf"}',
      sessions + refused,
    );
    await prometheus.expect("tcptools_session_duration_seconds_count", 2 * sessions + refused);
    await prometheus.expect("tcptools_lost_events_total", 0);
    // Loopback connects answer within a second; and the duration sums are positive.
    await prometheus.expect(
      'tcptools_connect_latency_seconds_bucket{le="1"}',
      sessions + refused,
    );
    assert.ok((await prometheus.query("tcptools_session_duration_seconds_sum"))! > 0);

    // The exposition, in both formats: promtool accepts the text one.
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const check = await promtool(text);
    assert.equal(check.code, 0, check.output);
    assert.equal(check.output, "");
    const open = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { Accept: "application/openmetrics-text; version=1.0.0" },
    });
    assert.match(open.headers.get("content-type")!, /^application\/openmetrics-text/);
    const openText = await open.text();
    assert.ok(openText.endsWith("\n# EOF\n"));
    assert.match(openText, /^# TYPE tcptools_connects counter$/m);
    assert.equal(
      samples(openText).get('tcptools_connects_total{outcome="refused",family="ipv4"}'),
      refused,
    );
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});

/** The last sample every exposition ends with (tcptools/src/metrics/tcp_metrics.ts). */
const LAST_SAMPLE = /\ntcptools_skipped_hits_total \d+\n$/;
const SAMPLE = /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$/;

Deno.test("--textfile is replaced whole every interval, never seen half written, and promtool accepts it", async () => {
  using cgroup = ChildCgroup.create();
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-textfile-" });
  const path = join(dir, "tcptools.prom");
  await using _dir = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
  const tracer = await Tracer.start(
    ["metrics", "--textfile", path, "--interval", "0.1", "--cgroup", cgroup.path],
    { waitForHeader: false },
  );
  try {
    await until("the first textfile", () => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    }, 30000);
    // Read it as fast as possible while connections are counted and it is
    // rewritten ten times a second.
    const sessions = 20;
    let trafficDone = false;
    const traffic = exchange("127.0.0.1", { count: sessions, prefix: cgroup.prefix })
      .finally(() => trafficDone = true);
    const versions = new Set<string>(); // each rename puts a new file in place
    let reads = 0;
    const readUntil = Date.now() + 2000;
    while (!trafficDone || Date.now() < readUntil) {
      const text = Deno.readTextFileSync(path);
      reads++;
      assert.match(text, /^# HELP tcptools_connects_total /);
      assert.match(text, LAST_SAMPLE, `read ${reads} is cut short`);
      for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
        assert.match(line, SAMPLE);
      }
      const { ino, mtime } = Deno.statSync(path);
      versions.add(`${ino} ${mtime!.getTime()}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await traffic;
    assert.ok(versions.size >= 10, `only ${versions.size} versions in ${reads} reads`);
    const established = 'tcptools_connects_total{outcome="established",family="ipv4"}';
    await until(
      "the file to count the sessions",
      () => samples(Deno.readTextFileSync(path)).get(established) === sessions,
    );
    const text = Deno.readTextFileSync(path);
    assert.equal(samples(text).get('tcptools_sessions_closed_total{family="ipv4"}'), 2 * sessions);
    const check = await promtool(text);
    assert.equal(check.code, 0, check.output);
    assert.equal(check.output, "");
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o644);
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
  // No temporary file is left beside it.
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["tcptools.prom"]);
});

const NOBODY = 65534;

/** Runs `script` with sh as the unprivileged user nobody; throws if it fails. */
async function asNobody(script: string): Promise<void> {
  const out = await new Deno.Command("setpriv", {
    args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "sh", "-c", script],
  }).output();
  if (!out.success) throw new Error(`as nobody: ${script}: ${decoder.decode(out.stderr)}`);
}

Deno.test("--textfile in a user's directory keeps going there when the user swaps it for a symbolic link", async () => {
  // The user owns the textfile's directory and the one above it; root owns the target.
  const top = Deno.makeTempDirSync({ prefix: "tcptools-textfile-swap-" });
  await using _top = { [Symbol.asyncDispose]: () => Deno.remove(top, { recursive: true }) };
  const home = join(top, "home");
  const target = join(top, "root");
  Deno.mkdirSync(home);
  Deno.mkdirSync(target, { mode: 0o777 }); // writable by root only: the umask clears group and other
  Deno.chmodSync(top, 0o755);
  Deno.chmodSync(target, 0o755);
  Deno.chownSync(home, NOBODY, NOBODY);
  await asNobody(`mkdir '${home}/prom'`);
  const path = join(home, "prom", "tcptools.prom");
  const tracer = await Tracer.start(
    ["metrics", "--textfile", path, "--interval", "0.1"],
    { waitForHeader: false },
  );
  try {
    await until("the first textfile", () => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    }, 30000);
    await asNobody(`mv '${home}/prom' '${home}/moved' && ln -s '${target}' '${home}/prom'`);
    const moved = join(home, "moved", "tcptools.prom");
    // Ten intervals: every write in them goes to the directory first opened,
    // each a new file (a freed inode number may come back: collect them all).
    const inodes = new Set<number | null>();
    for (const end = Date.now() + 1000; Date.now() < end;) {
      inodes.add(Deno.statSync(moved).ino);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual([...Deno.readDirSync(target)].map((e) => e.name), []);
    assert.ok(inodes.size > 1, "the textfile is not rewritten any more");
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
  assert.deepEqual([...Deno.readDirSync(target)].map((e) => e.name), []);
  assert.deepEqual([...Deno.readDirSync(join(home, "moved"))].map((e) => e.name), [
    "tcptools.prom",
  ]);
});

/** Sends `request` raw and returns everything the server answered before it closed. */
async function rawRequest(port: number, request: Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(request);
    let answer = "";
    const buffer = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return answer;
      answer += decoder.decode(buffer.subarray(0, n));
    }
  } finally {
    conn.close();
  }
}

Deno.test("the endpoint answers only GET /metrics and /, bounds request size and time, serves 50 scrapers at once, and a flood is counted exactly meanwhile", async () => {
  using cgroup = ChildCgroup.create();
  const port = closedPort("127.0.0.1");
  const tracer = await startMetrics(["--cgroup", cgroup.path], port);
  try {
    const sessions = 300;
    const flood = exchange("127.0.0.1", {
      count: sessions,
      up: 100,
      down: 100,
      prefix: cgroup.prefix,
    });

    // A client that sends half a request head and then nothing is closed at the deadline.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(encoder.encode("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
    const slowStart = performance.now();
    const slowEnd = slow.read(new Uint8Array(1024)).then((n) => ({
      n,
      ms: performance.now() - slowStart,
    }));

    // A request head larger than 8 KiB is refused with 431.
    const big = encoder.encode(`GET /metrics HTTP/1.1\r\nX-Big: ${"a".repeat(20000)}\r\n\r\n`);
    assert.match(await rawRequest(port, big), /^HTTP\/1\.1 431 /);
    // Methods other than GET, and other paths.
    for (const method of ["POST", "PUT", "DELETE", "HEAD"]) {
      const answer = await rawRequest(port, encoder.encode(`${method} /metrics HTTP/1.1\r\n\r\n`));
      assert.match(answer, /^HTTP\/1\.1 405 Method Not Allowed\r\n/, method);
      assert.match(answer, /\r\nAllow: GET\r\n/);
    }
    assert.match(
      await rawRequest(port, encoder.encode("GET /debug HTTP/1.1\r\n\r\n")),
      /^HTTP\/1\.1 404 /,
    );
    assert.match(await rawRequest(port, encoder.encode("nonsense\r\n\r\n")), /^HTTP\/1\.1 400 /);
    assert.match(
      await rawRequest(port, encoder.encode("GET / HTTP/1.0\r\n\r\n")),
      /^HTTP\/1\.1 200 /,
    );

    // 50 scrapers at once, three times, while the flood and the slow client go on.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`);
          return { status: response.status, text: await response.text() };
        }),
      );
      for (const { status, text } of answers) {
        assert.equal(status, 200);
        assert.match(text, LAST_SAMPLE);
      }
    }

    const { n, ms } = await slowEnd;
    slow.close();
    assert.equal(n, null, "the slow client got an answer");
    assert.ok(ms > 4000 && ms < 8000, `the slow client was closed after ${ms} ms`);

    await flood;
    const expected: [string, number][] = [
      ['tcptools_connects_total{outcome="established",family="ipv4"}', sessions],
      ['tcptools_sessions_closed_total{family="ipv4"}', 2 * sessions],
      ['tcptools_sent_bytes_total{family="ipv4"}', 200 * sessions],
      ['tcptools_received_bytes_total{family="ipv4"}', 200 * sessions],
      ["tcptools_lost_events_total", 0],
    ];
    const deadline = Date.now() + 10000;
    for (;;) {
      const values = samples(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      if (expected.every(([name, value]) => values.get(name) === value)) break;
      if (Date.now() > deadline) {
        for (const [name, value] of expected) assert.equal(values.get(name), value, name);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});

Deno.test("metrics: no output, a bad --listen, --label or --interval is a usage error; a busy port or a bad --textfile is one line, status 1", async () => {
  await assertUsageErrors([
    [["metrics"], "tcptools metrics: error: give --listen [ADDR:]PORT, --textfile PATH, or both"],
    [
      ["metrics", "--listen", "localhost:9100"],
      "tcptools metrics: error: argument --listen: invalid listen address: 'localhost:9100'",
    ],
    [
      ["metrics", "--listen", "70000"],
      "tcptools metrics: error: argument --listen: invalid listen address: '70000'",
    ],
    [
      ["metrics", "--listen", "9100", "--label", "comm,pid"],
      "tcptools metrics: error: argument --label: invalid label: 'pid'",
    ],
    [
      ["metrics", "--listen", "9100", "--label", "comm,comm"],
      "tcptools metrics: error: argument --label: invalid labels: 'comm,comm'",
    ],
    [
      ["metrics", "--listen", "9100", "--label-limit", "0"],
      "tcptools metrics: error: argument --label-limit: invalid limit: '0'",
    ],
    [
      ["metrics", "--listen", "9100", "--label-idle", "0"],
      "tcptools metrics: error: argument --label-idle: invalid interval: '0'",
    ],
    [
      ["metrics", "--textfile", "/tmp/x.prom", "--interval", "0"],
      "tcptools metrics: error: argument --interval: invalid interval: '0'",
    ],
  ]);
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const run = await runTcptools(
      ["metrics", "--listen", `127.0.0.1:${busy.addr.port}`],
      {},
      60000,
    );
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `tcptools metrics: listen on 127.0.0.1:${busy.addr.port}: Address already in use\n`,
    );
  } finally {
    busy.close();
  }
  const run = await runTcptools(["metrics", "--textfile", "/nonexistent/tcptools.prom"], {}, 60000);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    "tcptools metrics: write /nonexistent/tcptools.prom: No such file or directory\n",
  );
});

Deno.test("--label comm,cgroup counts connects, accepts, sessions and bytes per process and cgroup", async () => {
  using cgroup = ChildCgroup.create();
  const id = String(Deno.statSync(cgroup.path).ino);
  const port = closedPort("127.0.0.1");
  const tracer = await startMetrics(["--cgroup", cgroup.path, "--label", "comm,cgroup"], port);
  try {
    const sessions = 4, refused = 2, up = 5000, down = 700;
    const x = await exchange("127.0.0.1", { count: sessions, up, down, prefix: cgroup.prefix });
    await refusedConnects(refused, cgroup.prefix);
    const ours = { cgroup: id };
    const values = await scrapeUntil(
      port,
      "the labeled counts",
      (v) => total(v, "tcptools_sessions_closed_total", ours) === 2 * sessions + refused,
    );
    const exact: [string, Record<string, string>, number][] = [
      ["tcptools_connects_total", { outcome: "established", comm: "tt-client" }, sessions],
      ["tcptools_connects_total", { outcome: "refused", comm: "tt-refused" }, refused],
      ["tcptools_connects_total", {}, sessions + refused],
      ["tcptools_accepts_total", { port: String(x.serverPort), comm: "tt-server" }, sessions],
      ["tcptools_accepts_total", {}, sessions],
      ["tcptools_sessions_closed_total", { comm: "tt-client" }, sessions],
      ["tcptools_sessions_closed_total", { comm: "tt-server" }, sessions],
      ["tcptools_sessions_closed_total", { comm: "tt-refused" }, refused],
      ["tcptools_sent_bytes_total", { comm: "tt-client" }, sessions * up],
      ["tcptools_sent_bytes_total", { comm: "tt-server" }, sessions * down],
      ["tcptools_received_bytes_total", { comm: "tt-client" }, sessions * down],
      ["tcptools_received_bytes_total", { comm: "tt-server" }, sessions * up],
      ["tcptools_label_sets_overflow_total", {}, 0],
    ];
    for (const [name, labels, expected] of exact) {
      assert.equal(
        total(values, name, { ...ours, ...labels }),
        expected,
        `${name} ${JSON.stringify(labels)}`,
      );
    }
    // Every series carries exactly the labels asked for.
    assert.ok(
      [...values.keys()].filter((s) => s.startsWith("tcptools_connects_total")).every((s) =>
        /^tcptools_connects_total\{outcome="[a-z-]+",family="ipv4",comm="[^"]+",cgroup="\d+"\}$/
          .test(s)
      ),
    );
    const check = await promtool(await scrape(port));
    assert.equal(check.code, 0, check.output);
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});

/**
 * One refused connect from a process named by each of `comms` (bytes), made
 * with `prefix`: bash names itself, then connects itself (/dev/tcp).
 */
async function refusedConnectsNamed(comms: number[][], prefix: string[]): Promise<void> {
  const closed = closedPort("127.0.0.1");
  for (const comm of comms) {
    const bytes = comm.map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
    const out = await new Deno.Command(prefix[0], {
      args: [
        ...prefix.slice(1),
        "bash",
        "-c",
        `printf '${bytes}' >/proc/$$/comm; exec 3<>/dev/tcp/127.0.0.1/${closed}`,
      ],
      stderr: "null",
    }).output();
    assert.equal(out.code, 1); // refused
  }
}

/**
 * Process names a user can give (raw bytes, as /proc/self/comm takes them): bytes
 * that are not UTF-8, controls a terminal acts on (ESC, CR, DEL, C1), a
 * bidirectional override, and a literal backslash escape.
 */
const RAW_COMMS: number[][] = [
  [...encoder.encode("dup"), 0xff, 0x58],
  [...encoder.encode("dup"), 0xfe, 0x58],
  [...encoder.encode("dup"), 0xfd, 0x58],
  [...encoder.encode("dup\\xffX")],
  [0x1b, ...encoder.encode("[2J")],
  [...encoder.encode("cr"), 0x0d, 0x7f],
  [...encoder.encode("c1"), 0xc2, 0x85],
  [...encoder.encode("rtl"), 0xe2, 0x80, 0xae, 0x58],
];

Deno.test("--label comm gives each process name its own series, escaped, and Prometheus stores every one", async () => {
  using cgroup = ChildCgroup.create();
  const port = closedPort("127.0.0.1");
  const tracer = await startMetrics(["--cgroup", cgroup.path, "--label", "comm"], port);
  try {
    await using prometheus = new Prometheus(`127.0.0.1:${port}`);
    await prometheus.expect('up{job="tcptools"}', 1);
    await refusedConnectsNamed(RAW_COMMS, cgroup.prefix);
    const refusedLines = (text: string) =>
      text.split("\n").filter((l) => l.startsWith('tcptools_connects_total{outcome="refused"'));
    const body = await (async () => {
      for (const deadline = Date.now() + 20000;;) {
        const text = await scrape(port);
        const counted = refusedLines(text).map((l) => Number(l.slice(l.lastIndexOf(" ") + 1)));
        if (counted.reduce((a, b) => a + b, 0) === RAW_COMMS.length) return text;
        if (Date.now() > deadline) assert.fail(`the refused connects:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    assert.doesNotMatch(
      body,
      /[^\n\P{Cc}]|\p{Cf}|\ufffd/u,
      "a raw control, format or replacement character",
    );
    const refused = refusedLines(body);
    // Each name as the text formats show it, a backslash as \x5c; then escaped for the format.
    assert.deepEqual(
      refused.map((l) => l.match(/comm="(.*)"\} 1$/)?.[1]).sort(),
      [
        "\\\\x1b[2J",
        "c1\\\\xc2\\\\x85",
        "cr\\\\x0d\\\\x7f",
        "dup\\\\x5cxffX",
        "dup\\\\xfdX",
        "dup\\\\xfeX",
        "dup\\\\xffX",
        "rtl\\\\xe2\\\\x80\\\\xaeX",
      ],
    );
    assert.equal(refused.length, RAW_COMMS.length, refused.join("\n"));
    assert.equal(
      new Set(refused.map((l) => l.slice(0, l.lastIndexOf(" ")))).size,
      RAW_COMMS.length,
    );
    const check = await promtool(body);
    assert.equal(check.code, 0, check.output);
    await prometheus.expect(
      'count(tcptools_connects_total{outcome="refused"})',
      RAW_COMMS.length,
    );
    await prometheus.expect('sum(tcptools_connects_total{outcome="refused"})', RAW_COMMS.length);
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});

Deno.test("--label-idle removes label sets that count nothing, so a new process gets its own after a flood", async () => {
  using cgroup = ChildCgroup.create();
  const port = closedPort("127.0.0.1");
  const limit = 8;
  const tracer = await startMetrics(
    [
      "--cgroup",
      cgroup.path,
      "--label",
      "comm",
      "--label-limit",
      String(limit),
      "--label-idle",
      "1",
    ],
    port,
  );
  try {
    // Each name takes two label sets (its connect, its session): 12 names overflow the 8.
    const flood = Array.from({ length: 12 }, (_, i) => [...encoder.encode(`tt-flood-${i}`)]);
    await refusedConnectsNamed(flood, cgroup.prefix);
    const full = await scrapeUntil(
      port,
      "the flood counted",
      (v) => total(v, "tcptools_sessions_closed_total") === flood.length,
    );
    const overflowed = total(full, "tcptools_label_sets_overflow_total");
    assert.ok(overflowed > 0, "the flood did not fill the label sets");
    // Idle for a second: the flood's sets go, and so do their series.
    await scrapeUntil(
      port,
      "the flood's label sets removed",
      (v) => [...v.keys()].every((series) => !series.includes('comm="tt-flood-')),
    );
    await refusedConnectsNamed([[...encoder.encode("tt-late")]], cgroup.prefix);
    const after = await scrapeUntil(
      port,
      "the late process counted",
      (v) => total(v, "tcptools_sessions_closed_total", { comm: "tt-late" }) === 1,
    );
    assert.equal(total(after, "tcptools_connects_total", { comm: "tt-late" }), 1);
    assert.equal(total(after, "tcptools_label_sets_overflow_total"), overflowed);
  } finally {
    const { code } = await tracer.stop();
    assert.equal(code, 0);
  }
});

Deno.test("--label-limit caps the label sets: the rest are counted in overflow series, totals stay exact, and stderr says so", async () => {
  using cgroup = ChildCgroup.create();
  const port = closedPort("127.0.0.1");
  const limit = 3;
  const tracer = await startMetrics(
    ["--cgroup", cgroup.path, "--label", "lport", "--label-limit", String(limit)],
    port,
  );
  try {
    // Each connection's client port is a label set of its own: far more than the limit.
    const sessions = 12;
    await exchange("127.0.0.1", { count: sessions, up: 10, down: 10, prefix: cgroup.prefix });
    const values = await scrapeUntil(
      port,
      "the capped counts",
      (v) => total(v, "tcptools_sessions_closed_total") === 2 * sessions,
    );
    assert.equal(total(values, "tcptools_connects_total"), sessions);
    assert.equal(total(values, "tcptools_accepts_total"), sessions);
    assert.equal(total(values, "tcptools_sent_bytes_total"), 2 * sessions * 10);
    const labeledSets = [...values.keys()].filter((s) =>
      /^tcptools_(connects|accepts|sessions_closed)_total\{/.test(s) && !s.includes("overflow")
    );
    assert.equal(labeledSets.length, limit);
    const overflowed = ["connects", "accepts", "sessions_closed"].reduce(
      (sum, what) => sum + total(values, `tcptools_${what}_total`, { overflow: "true" }),
      0,
    );
    // Connects, accepts and sessions: each counted once, in a label set or an overflow series.
    const inSets = labeledSets.reduce((sum, s) => sum + values.get(s)!, 0);
    assert.equal(inSets + overflowed, sessions + sessions + 2 * sessions);
    assert.ok(overflowed > 0);
    assert.equal(values.get("tcptools_label_sets_overflow_total"), overflowed);
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      new RegExp(
        `^tcptools metrics: \\d+ connects, accepts or sessions counted without their labels \\(\\d+ in total\\): the ${limit} label sets are full \\(--label-limit\\)\\n`,
      ),
    );
  }
});

/** A GET /metrics on a connection of its own: the answer, or "" if none came within `ms`. */
async function scrapeWithin(port: number, ms: number): Promise<string> {
  const request = rawRequest(port, encoder.encode("GET /metrics HTTP/1.1\r\n\r\n")).catch(() => "");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => timer = setTimeout(() => resolve(""), ms));
  try {
    return await Promise.race([request, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `count` clients that connect, send nothing, and connect again 20 ms after
 * the server closes them, until stopped.
 */
function idleReconnecters(port: number, count: number): { stop(): Promise<void> } {
  let stopping = false;
  const open = new Set<Deno.Conn>();
  const one = async () => {
    while (!stopping) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        open.add(conn);
        await conn.read(new Uint8Array(1)).catch(() => null); // until the server closes it
        open.delete(conn);
        try {
          conn.close();
        } catch { /* closed by stop() */ }
      } catch { /* refused: try again */ }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const clients = Array.from({ length: count }, one);
  return {
    async stop() {
      stopping = true;
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* gone */ }
      }
      await Promise.all(clients);
    },
  };
}

Deno.test("130 idle clients that reconnect at once cannot keep scrapes out: each is answered within 5 s", async () => {
  const port = closedPort("127.0.0.1");
  const tracer = await startMetrics([], port);
  const idle = idleReconnecters(port, 130);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500)); // all 130 connected, churning
    let answered = 0;
    for (let i = 0; i < 20; i++) {
      if (LAST_SAMPLE.test(await scrapeWithin(port, 5000))) answered++;
    }
    assert.equal(answered, 20);
  } finally {
    await idle.stop();
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});

Deno.test("out of descriptors (prlimit --nofile=80), 100 held connections do not stop the endpoint: a scrape is answered", async () => {
  const port = closedPort("127.0.0.1");
  const tracer = await Tracer.start(["metrics", "--listen", `127.0.0.1:${port}`], {
    waitForHeader: false,
    prefix: ["prlimit", "--nofile=80"],
  });
  const held: Deno.Conn[] = [];
  try {
    for (const deadline = Date.now() + 30000; (await scrapeWithin(port, 1000)) === "";) {
      if (Date.now() > deadline) assert.fail("tcptools metrics never answered");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (let i = 0; i < 100; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await new Promise((resolve) => setTimeout(resolve, 500)); // accept() has failed with EMFILE
    assert.match(await scrapeWithin(port, 5000), LAST_SAMPLE);
    for (const conn of held.splice(0)) conn.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(await scrapeWithin(port, 5000), LAST_SAMPLE);
  } finally {
    for (const conn of held) conn.close();
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    // From source, Deno itself may warn that it could not load certificates (EMFILE).
    assert.doesNotMatch(stderr, /tcptools/);
  }
});

Deno.test("--cgroupmap counts only the connects, accepts and sessions of processes in the pinned map's cgroups", async () => {
  using cgroup = ChildCgroup.create();
  await using pinned = await PinnedMaps.create();
  const map = await pinned.map("tt_metrics_cgroups", [Deno.statSync(cgroup.path).ino!]);
  const port = closedPort("127.0.0.1");
  const tracer = await startMetrics(["--cgroupmap", map], port);
  try {
    const sessions = 3, refused = 2, up = 1000, down = 300;
    const x = await exchange("127.0.0.1", { count: sessions, up, down, prefix: cgroup.prefix });
    await refusedConnects(refused, cgroup.prefix);
    const values = await scrapeUntil(
      port,
      "the counts",
      (v) => total(v, "tcptools_sessions_closed_total") === 2 * sessions + refused,
    );
    assert.equal(total(values, "tcptools_connects_total", { outcome: "established" }), sessions);
    assert.equal(total(values, "tcptools_connects_total", { outcome: "refused" }), refused);
    assert.equal(total(values, "tcptools_connects_total"), sessions + refused);
    assert.equal(total(values, "tcptools_accepts_total", { port: String(x.serverPort) }), sessions);
    assert.equal(total(values, "tcptools_accepts_total"), sessions);
    assert.equal(total(values, "tcptools_sent_bytes_total"), sessions * (up + down));
    assert.equal(total(values, "tcptools_received_bytes_total"), sessions * (up + down));
  } finally {
    const { code, stderr } = await tracer.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});
