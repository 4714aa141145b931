/**
 * End-to-end test harness: runs the tracer under test (the source through
 * `deno run`, or the built binary named by TCPTOOLS_UNDER_TEST) and the
 * traffic peers of tests/peer.ts as real processes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, fromFileUrl, join } from "./paths.ts";

const root = join(dirname(fromFileUrl(import.meta.url)), "..");
const decoder = new TextDecoder();

/** The command line that runs `tcptools` with `args`. */
export function tcptools(args: string[]): [string, string[]] {
  const binary = Deno.env.get("TCPTOOLS_UNDER_TEST");
  if (binary) return [join(root, binary), args];
  return [Deno.execPath(), ["run", "-A", join(root, "mod.ts"), ...args]];
}

/**
 * The command line that runs `tcptools` with `args` on a pseudo-terminal, as
 * a user at a shell would: script(1) gives it one for stdin, stdout and
 * stderr, and copies what it writes there (CRLF line ends) to its stdout.
 */
export function tcptoolsOnTerminal(args: string[]): [string, string[]] {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = `exec ${tcptools(args).flat().map(quote).join(" ")}`;
  return ["script", ["--quiet", "--return", "--flush", "--command", command, "/dev/null"]];
}

/** What a finished process printed, and its status. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs tcptools to completion (for flag errors, --help and the like); after
 * `timeoutMs`, if given, it is killed (SIGKILL: a hang then fails the test).
 */
export async function runTcptools(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs?: number,
): Promise<Finished> {
  const [cmd, argv] = tcptools(args);
  const child = new Deno.Command(cmd, {
    args: argv,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = timeoutMs === undefined
    ? undefined
    : setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs each bad command line and checks the argparse contract: exit status
 * 2, nothing on stdout, a stderr line starting with the expected message,
 * and no stack trace.
 */
export async function assertUsageErrors(cases: [string[], string][]): Promise<void> {
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await runTcptools(args);
    const what = args.join(" ");
    if (code !== 2) throw new Error(`${what}: exit status ${code}, not 2\n${stderr}`);
    if (stdout !== "") throw new Error(`${what}: printed on stdout: ${stdout}`);
    if (!stderr.split("\n").some((l) => l.startsWith(message))) {
      throw new Error(`${what}: no line starting with ${JSON.stringify(message)}:\n${stderr}`);
    }
    if (/^\s+at /m.test(stderr)) throw new Error(`${what}: stack trace\n${stderr}`);
  }
}

/**
 * Compiles a C helper of tests/ once per run into a private temporary
 * directory; the file name `name` becomes its COMM.
 */
export function compileC(source: string, name: string): string {
  const path = join(Deno.makeTempDirSync({ prefix: "tcptools-test-" }), name);
  const out = new Deno.Command("gcc", {
    args: ["-O2", "-o", path, join(root, "tests", source)],
  }).outputSync();
  if (!out.success) throw new Error(`gcc ${source}: ${decoder.decode(out.stderr)}`);
  return path;
}

/** A port nothing listens on: a listener's, closed again. */
export function closedPort(host: string): number {
  const listener = Deno.listen({ hostname: host, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The lines (text or JSON) about process `pid`. */
export function linesOf(stdout: string, pid: number): string[] {
  return stdout.split("\n").filter((l) =>
    l.includes(` ${pid} `) || l.startsWith(`${pid} `) || l.includes(`"pid":${pid},`)
  );
}

/**
 * Checks the JSON object connect and connlat print for a connect that `pid`
 * made to a closed `port` on 127.0.0.1: every field, and a latency within
 * the connect() time the client measured itself.
 */
export function assertRefusedConnectJson(
  line: string,
  pid: number,
  port: number,
  measuredMs: number,
) {
  const { time, lport, latency_ms, ...rest } = withoutIdentity(JSON.parse(line));
  assert.deepEqual(rest, {
    pid,
    uid: 0,
    comm: "tt-client",
    ip: 4,
    saddr: "127.0.0.1",
    daddr: "127.0.0.1",
    dport: port,
    outcome: "refused",
    error: 111,
  });
  assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.ok(lport > 0);
  assert.ok(latency_ms > 0 && latency_ms <= measuredMs, `${latency_ms} vs ${measuredMs} ms`);
}

/**
 * A JSON object without the identity fields other than `uid` (tests/identity_test.ts
 * checks their values), each checked to be a positive integer.
 */
export function withoutIdentity<T extends Record<string, unknown>>(
  object: T,
): Omit<T, "tid" | "cgroup_id" | "netns" | "mntns" | "cookie"> {
  const { tid, cgroup_id, netns, mntns, cookie, ...rest } = object;
  for (const [name, value] of Object.entries({ tid, cgroup_id, netns, mntns, cookie })) {
    assert.ok(Number.isSafeInteger(value) && (value as number) > 0, `${name}: ${value}`);
  }
  return rest;
}

/** Collects a stream's text as it arrives. */
class Collected {
  text = "";
  done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true });
    })();
  }
  /** Complete lines so far. */
  lines(): string[] {
    const end = this.text.lastIndexOf("\n");
    return end < 0 ? [] : this.text.slice(0, end).split("\n");
  }
}

/** Resolves once `condition()` holds; throws after `timeoutMs`. */
export async function until(
  what: string,
  condition: () => boolean,
  timeoutMs = 10000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** IDs of the BPF programs, links and maps loaded in the kernel now. */
export function bpfObjects(): Set<string> {
  const ids = new Set<string>();
  for (const kind of ["prog", "link", "map"] as const) {
    for (const o of bpftoolShow(kind)) ids.add(`${kind} ${o.id}`);
  }
  return ids;
}

/** What `bpftool -j KIND show` lists: every loaded program, link or map. */
function bpftoolShow(
  kind: "prog" | "link" | "map",
): { id: number; name?: string; recursion_misses?: number }[] {
  const out = new Deno.Command("bpftool", { args: ["-j", kind, "show"] }).outputSync();
  return JSON.parse(decoder.decode(out.stdout));
}

/**
 * How many tracepoint hits the kernel skipped the primary programs of
 * process `pid` for (bpf/common.bpf.h, SET_STATE_HANDLERS), each on a CPU
 * where it was already running: their `recursion_misses`, found by the
 * program IDs of the process's descriptors.
 */
export function primaryMisses(pid: number): number {
  const ids = new Set<number>();
  for (const fd of Deno.readDirSync(`/proc/${pid}/fdinfo`)) {
    let info = "";
    try {
      info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd.name}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // closed meanwhile
    }
    const id = /^prog_id:\s+(\d+)/m.exec(info)?.[1];
    if (id) ids.add(Number(id));
  }
  return bpftoolShow("prog")
    .filter((p) => ids.has(p.id) && !p.name?.endsWith("_backup"))
    .reduce((sum, p) => sum + (p.recursion_misses ?? 0), 0);
}

/** Asserts that nothing is loaded that was not in `before` (from {@linkcode bpfObjects}). */
export async function assertUnloaded(before: Set<string>): Promise<void> {
  // The kernel frees programs and maps after an RCU grace period: allow it a moment.
  const left = () => [...bpfObjects()].filter((id) => !before.has(id));
  await until("the kernel to free what the tracers loaded", () => left().length === 0, 5000)
    .catch(() => assert.deepEqual(left(), []));
}

/** A running tracer. */
export class Tracer {
  #child: Deno.ChildProcess;
  #stdout: Collected;
  #stderr: Collected;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#pid = child.pid;
    this.#stdout = new Collected(child.stdout);
    this.#stderr = new Collected(child.stderr);
    child.status.then(() => this.#exited = true);
  }

  /**
   * Starts `tcptools <args>` (after the command `prefix`, if given) and
   * waits for its first stdout line (the header). With `terminal`, it runs on a pseudo-terminal (see
   * {@linkcode tcptoolsOnTerminal}): its stdout and stderr both arrive, as
   * the terminal shows them, in {@linkcode Tracer.lines}.
   */
  static async start(
    args: string[],
    options: { waitForHeader?: boolean; terminal?: boolean; prefix?: string[] } = {},
  ): Promise<Tracer> {
    // `prefix`: a command that runs the rest and execs it in place (same PID).
    const [cmd, ...argv] = [
      ...options.prefix ?? [],
      ...(options.terminal ? tcptoolsOnTerminal(args) : tcptools(args)).flat(),
    ];
    const tracer = new Tracer(
      new Deno.Command(cmd, { args: argv, stdin: "null", stdout: "piped", stderr: "piped" })
        .spawn(),
    );
    if (options.waitForHeader ?? true) {
      await until("the tracer's header", () => tracer.lines().length > 0 || tracer.#exited);
    }
    if (tracer.#exited) {
      const { code, stderr } = await tracer.stop();
      throw new Error(`tcptools ${args.join(" ")} exited with ${code}: ${stderr}`);
    }
    if (options.terminal) {
      // Signals go to tcptools itself (script's only child), not to script.
      const children = Deno.readTextFileSync(`/proc/${tracer.#pid}/task/${tracer.#pid}/children`);
      tracer.#pid = Number(children.trim());
    }
    return tracer;
  }

  #exited = false;
  #pid: number;

  /**
   * For outputs without a header (JSON): makes traffic until a first line
   * appears, which proves the tracer is attached. The probes' own lines are
   * told apart by their ports and PIDs.
   */
  async probeUntilFirstLine(probe: () => Promise<unknown>, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines().length === 0) {
      if (Date.now() > deadline) throw new Error("the tracer printed nothing");
      await probe();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  get pid(): number {
    return this.#pid;
  }

  /** stdout lines so far. */
  lines(): string[] {
    return this.#stdout.lines();
  }

  /** Sends `signal` without waiting (e.g. SIGSTOP to stall the consumer). */
  signal(signal: Deno.Signal): void {
    Deno.kill(this.#pid, signal);
  }

  /** Sends `signal` and waits for the exit; returns everything printed. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<Finished> {
    try {
      Deno.kill(this.#pid, signal);
    } catch { /* already gone */ }
    const status = await this.#child.status;
    await Promise.all([this.#stdout.done, this.#stderr.done]);
    return { code: status.code, stdout: this.#stdout.text, stderr: this.#stderr.text };
  }
}

/** A traffic peer process (tests/peer.ts) and the JSON lines it printed. */
export class Peer {
  #child: Deno.ChildProcess;
  #stdout: Collected;
  #stderr: Collected;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdout = new Collected(child.stdout);
    this.#stderr = new Collected(child.stderr);
  }

  /**
   * Starts `peer.ts <mode> ...`; as user `uid` if given (through setpriv, which
   * execs in place, so the PID is the peer's), after the command `prefix` if
   * given (e.g. NetworkNamespace.prefix; it must exec in place too).
   */
  static spawn(
    mode: "serve" | "connect",
    options: Record<string, string | number>,
    uid?: number,
    prefix: string[] = [],
  ): Peer {
    const args = ["run", "-A", join(root, "tests", "peer.ts"), mode];
    for (const [k, v] of Object.entries(options)) args.push(`--${k}`, String(v));
    const asUser = uid === undefined
      ? []
      : ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups"];
    const [cmd, ...argv] = [...prefix, ...asUser, Deno.execPath(), ...args];
    // Another user cannot use root's Deno cache: an unwritable DENO_DIR keeps it in memory.
    const env: Record<string, string> = uid === undefined ? {} : { DENO_DIR: "/proc/no-cache" };
    return new Peer(
      new Deno.Command(cmd, { args: argv, env, stdin: "null", stdout: "piped", stderr: "piped" })
        .spawn(),
    );
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** The JSON reports printed so far. */
  reports(): Record<string, number | boolean>[] {
    return this.#stdout.lines().map((line) => JSON.parse(line));
  }

  /** Waits for the `n`th report. */
  async report(n: number): Promise<Record<string, number | boolean>> {
    await until(`report ${n} of peer ${this.pid}`, () => this.reports().length >= n);
    return this.reports()[n - 1];
  }

  /** Waits for a clean exit; throws with the peer's stderr otherwise. */
  async finished(): Promise<Record<string, number | boolean>[]> {
    const status = await this.#child.status;
    await Promise.all([this.#stdout.done, this.#stderr.done]);
    if (!status.success) throw new Error(`peer ${this.pid} failed: ${this.#stderr.text}`);
    return this.reports();
  }
}

/** A server and a client that move `send` bytes up and `back` bytes down per connection. */
export interface Exchange {
  server: Peer;
  client: Peer;
  serverPort: number;
  /** Per connection: the client's local port. */
  clientPorts: number[];
}

/** Runs one server and one client over `host` for `count` connections. */
export async function exchange(
  host: string,
  options: {
    count?: number;
    up?: number;
    down?: number;
    serverComm?: string;
    clientComm?: string;
    /** A command prefix for both peers (e.g. ChildCgroup.prefix); it must exec in place. */
    prefix?: string[];
  } = {},
): Promise<Exchange> {
  const count = options.count ?? 1;
  const up = options.up ?? 204800;
  const down = options.down ?? 51200;
  const server = Peer.spawn(
    "serve",
    {
      host,
      count,
      send: down,
      expect: up,
      comm: options.serverComm ?? "tt-server",
    },
    undefined,
    options.prefix,
  );
  const serverPort = (await server.report(1)).port as number;
  const client = Peer.spawn(
    "connect",
    {
      host,
      port: serverPort,
      count,
      send: up,
      expect: down,
      comm: options.clientComm ?? "tt-client",
    },
    undefined,
    options.prefix,
  );
  const reports = await client.finished();
  await server.finished();
  return { server, client, serverPort, clientPorts: reports.map((r) => r.lport as number) };
}

/**
 * What `tool` (a connect-object tool) prints, as text and as JSON, for a
 * refused connect an AF_INET6 socket makes to the IPv4-mapped ::ffff:127.0.0.1,
 * under `flags` (none, -4 or -6). Checks the JSON object against `ip` and
 * the address form that goes with it, and returns the text lines about the
 * client for the caller to check in the tool's own format.
 */
export async function mappedRefusedConnect(
  tool: string,
  flags: readonly string[],
  ip: 4 | 6,
): Promise<{ lines: string[]; pid: number; port: number; address: string }> {
  const address = ip === 4 ? "127.0.0.1" : "::ffff:127.0.0.1";
  const text = await Tracer.start([tool, ...flags]);
  const json = await Tracer.start([tool, "--json", ...flags], { waitForHeader: false });
  await json.probeUntilFirstLine(() =>
    exchange(ip === 4 ? "127.0.0.1" : "::1", { up: 1, down: 1 })
  );
  const port = closedPort("127.0.0.1");
  const client = Peer.spawn("connect", { host: "::ffff:127.0.0.1", port, comm: "tt-client" });
  const [report] = await client.finished();
  assert.equal(report.refused, true);
  for (const t of [text, json]) {
    await until("the connect", () => linesOf(t.lines().join("\n"), client.pid).length > 0);
  }
  const lines = linesOf((await text.stop()).stdout, client.pid);
  const [found] = linesOf((await json.stop()).stdout, client.pid).map((l) => JSON.parse(l));
  assert.deepEqual([found.ip, found.saddr, found.daddr, found.dport, found.outcome], [
    ip,
    address,
    address,
    port,
    "refused",
  ]);
  return { lines, pid: client.pid, port, address };
}
