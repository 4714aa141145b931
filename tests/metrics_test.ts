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
import { closedPort, exchange, Peer, Tracer } from "./harness.ts";
import { join } from "./paths.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Starts `tcptools metrics <args>` and waits until its endpoint answers (it listens once attached). */
async function startMetrics(args: string[], port: number): Promise<Tracer> {
  const tracer = await Tracer.start(["metrics", "--listen", `127.0.0.1:${port}`, ...args], {
    waitForHeader: false,
  });
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      await response.body?.cancel();
      if (response.ok) return tracer;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      const { stderr } = await tracer.stop();
      throw new Error(`tcptools metrics never answered: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The value of each sample of an exposition, by its line's name and labels. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

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
