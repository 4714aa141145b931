/**
 * Per-socket session state against a local user who holds more sockets
 * open than any fixed-size map of sockets has room for (the attack of issue
 * 18, item 2): an unprivileged user in a network namespace of its own holds
 * 144,000 sockets while a root session that was opened before closes after;
 * `life` must print it and `metrics` count it, with exact bytes. Its 72,000
 * accepted sockets, more than the owners of accepts waiting for their
 * socket's next state change have room for, are counted on stderr.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ChildCgroup } from "./child_cgroup.ts";
import { closedPort, compileC, type Finished, Tracer, until } from "./harness.ts";
import { scrapeUntil, startMetrics, total } from "./metrics_endpoint.ts";

const decoder = new TextDecoder();

/** Reads exactly `n` bytes from `conn`. */
async function readExactly(conn: Deno.Conn, n: number): Promise<void> {
  const buffer = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const read = await conn.read(buffer.subarray(got));
    if (read === null) throw new Error(`the peer closed after ${got} of ${n} bytes`);
    got += read;
  }
}

/** Writes `n` bytes to `from` and reads them at `to`. */
async function send(from: Deno.Conn, to: Deno.Conn, n: number): Promise<void> {
  await Promise.all([from.write(new Uint8Array(n)), readExactly(to, n)]);
}

/** tests/c/socket_hoard.c as nobody in a user and network namespace of its own. */
class SocketHoard {
  readonly #child: Deno.ChildProcess;
  readonly #stdout: ReadableStreamDefaultReader<Uint8Array>;

  constructor(processes: number, connections: number) {
    const hoard = compileC("c/socket_hoard.c", "tt-hoard");
    Deno.chmodSync(hoard, 0o755);
    Deno.chmodSync(hoard.slice(0, hoard.lastIndexOf("/")), 0o755);
    this.#child = new Deno.Command("setpriv", {
      args: [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "unshare",
        "-rn",
        hoard,
        String(processes),
        String(connections),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdout = this.#child.stdout.getReader();
  }

  /** Waits until every socket is open; returns how many there are. */
  async ready(): Promise<number> {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await this.#stdout.read();
      if (done) throw new Error(`socket_hoard ended: ${text}`);
      text += decoder.decode(value);
    }
    return Number(/^ready (\d+)/.exec(text)![1]);
  }

  /** Closes every socket: the processes end. */
  async end(): Promise<void> {
    await this.#child.stdin.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#stdout.cancel();
  }
}

Deno.test("a user holding 144,000 sockets cannot erase a root session from life or metrics", async () => {
  const life = await Tracer.start(["life", "--json"], { waitForHeader: false });
  const metricsPort = closedPort("127.0.0.1");
  const metrics = await startMetrics(
    // Room for a label set per accepted socket of the hoard: a full map is another matter.
    ["--label", "rport", "--label-limit", "200000"],
    metricsPort,
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serverPort = listener.addr.port;
  let client: Deno.Conn | undefined, server: Deno.Conn | undefined;
  let hoard: SocketHoard | undefined;
  let lifeEnd!: Finished;
  try {
    // The tracer is attached once it prints a first session.
    await life.probeUntilFirstLine(async () => {
      const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: probe.addr.port });
      (await probe.accept()).close();
      conn.close();
      probe.close();
    });

    client = await Deno.connect({ hostname: "127.0.0.1", port: serverPort });
    server = await listener.accept();
    const clientPort = (client.localAddr as Deno.NetAddr).port;
    await send(client, server, 1000);
    await send(server, client, 2000);

    // Opened before the hoard, so the oldest of all in a map of sockets.
    hoard = new SocketHoard(8, 9000);
    assert.equal(await hoard.ready(), 144000);
    await send(client, server, 500);
    await send(server, client, 300);
    client.close();
    client = undefined;
    server.close();
    server = undefined;

    const victim = (port: number) =>
      life.lines().map((l) => JSON.parse(l)).find((e) =>
        e.laddr === "127.0.0.1" && e.lport === port
      );
    const printed = async () => {
      await until(
        "life's two lines of the root session",
        () => victim(clientPort) !== undefined && victim(serverPort) !== undefined,
        10000,
      );
      assert.deepEqual(
        [victim(clientPort).tx_bytes, victim(clientPort).rx_bytes],
        [1500, 2300],
      );
      assert.deepEqual(
        [victim(serverPort).tx_bytes, victim(serverPort).rx_bytes],
        [2300, 1500],
      );
    };
    const counted = async () => {
      const ours = { rport: String(serverPort) };
      const values = await scrapeUntil(
        metricsPort,
        "the root session's close in metrics",
        (v) => total(v, "tcptools_sessions_closed_total", ours) === 1,
      );
      assert.equal(total(values, "tcptools_sent_bytes_total", ours), 1500);
      assert.equal(total(values, "tcptools_received_bytes_total", ours), 2300);
    };
    // Both checked, so that a failure says which of the two lost the session.
    const failures = (await Promise.allSettled([printed(), counted()]))
      .filter((r) => r.status === "rejected").map((r) => String(r.reason));
    assert.deepEqual(failures, []);
  } finally {
    client?.close();
    server?.close();
    listener.close();
    // Before the hoard's 144,000 closes, which would only be printed.
    [lifeEnd] = await Promise.all([life.stop(), metrics.stop()]);
    await hoard?.end();
  }
  assert.equal(lifeEnd.code, 0, lifeEnd.stderr);
  assert.match(lifeEnd.stderr, /^tcptools life: \d+ accepted sockets had their process not noted/m);
});

Deno.test("a session open before tracing started is not counted as closed: metrics counts its close apart, stderr says nothing", async () => {
  using cgroup = ChildCgroup.create();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // Its socket is the cgroup's only one (the accepted end is the test's): it
  // closes once its stdin ends.
  const client = new Deno.Command(cgroup.prefix[0], {
    args: [
      ...cgroup.prefix.slice(1),
      "bash",
      "-c",
      `exec 3<>/dev/tcp/127.0.0.1/${listener.addr.port} && cat > /dev/null`,
    ],
    stdin: "piped",
  }).spawn();
  const server = await listener.accept();
  const port = closedPort("127.0.0.1");
  const metrics = await startMetrics(["--cgroup", cgroup.path], port);
  try {
    await client.stdin.close();
    assert.equal((await client.status).code, 0);
    const values = await scrapeUntil(
      port,
      "the close of a session open before tracing",
      (v) => v.get("tcptools_closes_before_tracing_total") === 1,
    );
    assert.equal(total(values, "tcptools_sessions_closed_total"), 0);
  } finally {
    server.close();
    const { code, stderr } = await metrics.stop();
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});
