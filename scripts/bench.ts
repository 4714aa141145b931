/**
 * Benchmark: `tcptools life` against libbpf-tools `tcplife`, `tcptools
 * accept`, `connect` and `connlat` against a bpftrace one-liner on the same
 * tracepoint (their C peers need kprobes), and no tracer, in four parts:
 *
 * - sweep: loopback connections (scripts/bench/flood.c) at steady rates and
 *   as a flood, in interleaved rounds, one table of medians per rate;
 * - idle: each tracer attached with no traffic from the bench: CPU and wake-ups;
 * - tax: ns a `getppid()` loop (scripts/bench/getppid.c) pays per call while
 *   each tracer is attached: its cost to every other system call;
 * - delay: single connections, from the client's connect()/close() returning
 *   to the matching line on the tracer's stdout pipe.
 *
 * Usage: deno task bench [--rates 200,1000,5000,20000,flood] [--rounds N]
 *   [--seconds S] [--workers W] [--idle-seconds S] [--delay-events N]
 *   [--parts sweep,idle,tax,delay] [--baseline BINARY]   (as root)
 *
 * With --baseline, each tool also runs from another tcptools binary (an
 * earlier build), in the same rounds: a change's cost is read side by side,
 * under the same noise.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TOOLS } from "../src/tools/registry.ts";
import { cgroupV2Root } from "../src/bpf/cgroup_root.ts";
import {
  cpuNs,
  cpuWindow,
  peakRssMb,
  recursionMisses,
  statCpuNs,
  wakeUpWindow,
} from "./bench/proc.ts";
import { spawned, Tracer, type TracerCommand } from "./bench/tracer.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TCPTOOLS = join(root, "dist", "tcptools");
const TCPLIFE = "/usr/sbin/tcplife";
const BPFTRACE = "/usr/bin/bpftrace";
/** tcpconnect-tp from the bpftrace book: active opens from the tracepoint alone. */
const BPFTRACE_CONNECT = 'BEGIN { printf("PID COMM DPORT\\n"); } ' +
  "tracepoint:sock:inet_sock_set_state /args->oldstate == 7 && args->newstate == 2/ " +
  '{ printf("%d %s %d \\n", pid, comm, args->dport); }';
const TRACEFS = "/sys/kernel/tracing";
/** Pause between attach and measuring, so tracer start-up work is over. */
const SETTLE_MS = 500;
/** Pause between flood end and SIGINT, so the tracer prints what is queued. */
const DRAIN_MS = 300;
/**
 * Before the measured load, the same load runs this long, unmeasured: the
 * tracer's one-time costs of a first burst of events (its JIT compiling the
 * per-event code, its heap's first growth) are start-up, not the cost per
 * connection that a tracer left running pays.
 */
const WARMUP_SECONDS = 5;
/** A paced rate runs long enough for this many connections (at least --seconds). */
const MIN_CONNECTIONS = 3000;
/** Syscall tax: getppid() calls per repetition, and repetitions (the fastest counts). */
const TAX_CALLS = 200_000;
const TAX_REPS = 20;
/**
 * Output delay: pause between single connections, so each finds the tracer
 * idle; random within [GAP, 2 × GAP), so a periodic timer in the tracer is
 * met at every phase instead of always the same one.
 */
const DELAY_GAP_MS = 100;
/** Output delay: how long a line may take before the event counts as not printed. */
const DELAY_TIMEOUT_MS = 5000;

const PARTS = ["sweep", "idle", "tax", "delay"] as const;
type Part = typeof PARTS[number];

interface Row extends Partial<TracerCommand> {
  name: string;
  /** Lines a complete trace prints per connection: 2 for sessions (both ends), 1 for connects. */
  perConnection?: number;
  /** When the tracer's event happens: at the connection's open, or at its close. */
  printsAt?: "open" | "close";
  /**
   * Its command for the delay part, where stdout is a pipe (none: not timed).
   * C stdio block-buffers a pipe, so tcplife runs under `stdbuf -oL` there.
   */
  pipedCommand?: string[];
}

/** A rate of the sweep: connections a second, or "flood" (as many as the clients can). */
type Rate = number | "flood";

/** One row's numbers at one rate in one round (tracer fields are NaN for the baseline). */
interface Sample {
  connsPerSec: number;
  connections: number;
  failed: number;
  cpuUsPerConn: number;
  /** The same from /proc/PID/stat's ticks: coarse, a cross-check. */
  statCpuUsPerConn: number;
  startupCpuMs: number;
  linesPerConn: number;
  /** perConnection × connections − data lines: events the tracer did not print. */
  missingLines: number;
  /** Lines about other TCP sessions on the machine. */
  otherLines: number;
  attachMs: number;
  rssMb: number;
  lost: number;
  missed: number;
}

/** The tracer fields of a baseline sample: they do not apply. */
const NO_TRACER = {
  cpuUsPerConn: NaN,
  statCpuUsPerConn: NaN,
  startupCpuMs: NaN,
  linesPerConn: NaN,
  missingLines: NaN,
  otherLines: NaN,
  attachMs: NaN,
  rssMb: NaN,
  lost: NaN,
  missed: NaN,
};

let tempDir: string | undefined;

/** Kills whatever is still running and removes the temp dir (idempotent). */
function cleanup(): void {
  for (const child of spawned) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  spawned.clear();
  if (tempDir) Deno.removeSync(tempDir, { recursive: true });
  tempDir = undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdin: "null" }).outputSync();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

/** Runs a helper to completion; its stdout. */
async function runHelper(binary: string, args: string[]): Promise<string> {
  const child = new Deno.Command(binary, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  spawned.add(child);
  const out = await child.output();
  spawned.delete(child);
  const decoder = new TextDecoder();
  if (!out.success) throw new Error(`${binary} failed: ${decoder.decode(out.stderr).trim()}`);
  return decoder.decode(out.stdout);
}

/** Sum of the "lost N events" reports of both tracers' stderr. */
function lostEvents(stderr: string): number {
  return [...stderr.matchAll(/lost (\d+) events/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** How the sweep runs one rate. */
interface Load {
  rate: Rate;
  seconds: number;
  workers: number;
}

/** Runs the flood at `load` to completion. */
async function flood(
  binary: string,
  load: Load,
): Promise<{ connections: number; seconds: number; failed: number; port: number }> {
  const args = [String(load.seconds), String(load.workers)];
  if (load.rate !== "flood") args.push(String(load.rate));
  return JSON.parse(await runHelper(binary, args));
}

/** The temp-file prefix of one measurement. */
function basePath(...parts: (string | number)[]): string {
  return join(tempDir!, parts.join("-").replaceAll(/\W+/g, "_"));
}

/** One row, one rate, one round: start the tracer, run the load, stop it, read its numbers. */
async function measure(
  row: Row,
  round: number,
  floodBinary: string,
  load: Load,
  ticksPerSecond: number,
): Promise<Sample> {
  if (!row.command) {
    const f = await flood(floodBinary, load);
    return {
      connsPerSec: f.connections / f.seconds,
      connections: f.connections,
      failed: f.failed,
      ...NO_TRACER,
    };
  }
  const tracer = await Tracer.toFile(row as TracerCommand, basePath(round, load.rate, row.name));
  const pid = tracer.pid;
  await sleep(SETTLE_MS);
  const startupCpuMs = cpuNs(pid) / 1e6;
  const warmup = await flood(floodBinary, { ...load, seconds: WARMUP_SECONDS });
  const cpu = cpuWindow(pid);
  const statBefore = statCpuNs(pid, ticksPerSecond);
  const f = await flood(floodBinary, load);
  await sleep(DRAIN_MS);
  // Sampled while the process still exists: after SIGINT /proc/<pid> goes.
  const cpuInWindow = cpu.end();
  const statAfter = statCpuNs(pid, ticksPerSecond);
  const rssMb = peakRssMb(pid);
  const missed = recursionMisses(pid);
  const { lines, stderr } = await tracer.stop();
  // Only the flood's sessions count (its port as a column of its own), so other
  // TCP traffic on the machine cannot pass for events.
  // (Padded with spaces: accept's last column is the port, unpadded when 5 digits wide.)
  const ofPort = (port: number) => lines.filter((line) => ` ${line} `.includes(` ${port} `)).length;
  const floodLines = ofPort(f.port);
  return {
    connsPerSec: f.connections / f.seconds,
    connections: f.connections,
    failed: f.failed,
    cpuUsPerConn: cpuInWindow / 1e3 / f.connections,
    statCpuUsPerConn: (statAfter - statBefore) / 1e3 / f.connections,
    startupCpuMs,
    linesPerConn: floodLines / f.connections,
    missingLines: row.perConnection! * f.connections - floodLines,
    otherLines: lines.length - floodLines - ofPort(warmup.port),
    attachMs: tracer.attachMs,
    rssMb,
    lost: lostEvents(stderr),
    missed,
  };
}

/** A tracer attached with no traffic from the bench. */
interface Idle {
  cpuMsPerMinute: number;
  wakeUpsPerSecond: number;
  /** Lines it printed meanwhile: other TCP traffic on the machine (0 on a quiet one). */
  lines: number;
}

async function measureIdle(row: Row, seconds: number): Promise<Idle> {
  const tracer = await Tracer.toFile(row as TracerCommand, basePath("idle", row.name));
  await sleep(SETTLE_MS);
  const cpuSpent = cpuWindow(tracer.pid);
  const wakeUpsCounted = wakeUpWindow(tracer.pid);
  const started = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSpent.end();
  const woken = wakeUpsCounted.end();
  const { lines } = await tracer.stop();
  return {
    cpuMsPerMinute: cpu / 1e6 / elapsed * 60,
    wakeUpsPerSecond: woken / elapsed,
    lines: lines.length,
  };
}

/** ns per getppid() call with `row`'s tracer attached (or none). */
async function measureTax(row: Row, round: number, taxBinary: string): Promise<number> {
  const calls = [String(TAX_CALLS), String(TAX_REPS)];
  if (!row.command) return Number(await runHelper(taxBinary, calls));
  const tracer = await Tracer.toFile(row as TracerCommand, basePath("tax", round, row.name));
  await sleep(SETTLE_MS);
  try {
    return Number(await runHelper(taxBinary, calls));
  } finally {
    await tracer.stop();
  }
}

/**
 * Output delays, ms, of `events` single loopback connections the bench makes
 * itself: from the client's connect() (close() for tracers that print at the
 * close) returning to the last of the connection's lines arriving on the
 * tracer's stdout pipe. NaN for a connection whose lines did not all come.
 */
async function measureDelay(row: Row, events: number): Promise<number[]> {
  const spec = { name: row.name, command: row.pipedCommand!, ready: "header" as const };
  const tracer = await Tracer.toPipe(spec, basePath("delay", row.name));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const ours = (text: string) => ` ${text} `.includes(` ${port} `);
  const delays: number[] = [];
  try {
    await sleep(SETTLE_MS);
    let seen = 0; // lines about our port so far
    for (let i = 0; i < events; i++) {
      await sleep(DELAY_GAP_MS * (1 + Math.random()));
      // Once both calls have returned, the connect() and the accept() have happened.
      const [client, server] = await Promise.all([
        Deno.connect({ hostname: "127.0.0.1", port }),
        listener.accept(),
      ]);
      const opened = performance.now();
      // As the flood does: the server closes first, the client after EOF.
      server.close();
      await client.read(new Uint8Array(1));
      client.close();
      const closed = performance.now();
      const from = row.printsAt === "close" ? closed : opened;
      const wanted = seen + row.perConnection!;
      const deadline = performance.now() + DELAY_TIMEOUT_MS;
      let mine = tracer.lines.filter((line) => ours(line.text));
      while (mine.length < wanted && performance.now() < deadline) {
        await sleep(1);
        mine = tracer.lines.filter((line) => ours(line.text));
      }
      delays.push(mine.length >= wanted ? mine[wanted - 1].at - from : NaN);
      seen = mine.length;
    }
  } finally {
    listener.close();
    await tracer.stop();
  }
  return delays;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Formats a number with `digits` decimals; "–" where it does not apply. */
const fmt = (value: number, digits = 0) => Number.isFinite(value) ? value.toFixed(digits) : "–";

/** "200/s" or "flood". */
const rateName = (rate: Rate) => rate === "flood" ? "flood" : `${rate}/s`;

function rawLine(round: number, load: Load, row: Row, s: Sample): string {
  const parts = [
    `round ${round} ${rateName(load.rate).padStart(8)} ${row.name.padEnd(22)} ${
      fmt(s.connsPerSec).padStart(6)
    } conn/s`,
  ];
  parts.push(`(${s.connections} conns${s.failed ? `, ${s.failed} failed` : ""})`);
  if (row.command) {
    parts.push(
      `cpu ${fmt(s.cpuUsPerConn, 2)} µs/conn (stat ${fmt(s.statCpuUsPerConn, 2)}, startup ${
        fmt(s.startupCpuMs)
      } ms)`,
      `lines ${fmt(s.linesPerConn, 4)}/conn (${s.missingLines} short${
        s.otherLines ? `, +${s.otherLines} not the flood's` : ""
      })`,
      `attach ${fmt(s.attachMs)} ms`,
      `rss ${fmt(s.rssMb, 1)} MB`,
      `lost ${s.lost}`,
      `missed ${s.missed}`,
    );
  }
  return parts.join("  ");
}

const USAGE = "usage: deno task bench [--rates 200,1000,5000,20000,flood] [--rounds N] " +
  "[--seconds S] [--workers W] [--idle-seconds S] [--delay-events N] [--parts sweep,idle,tax,delay] " +
  "[--baseline BINARY]";

/** The command-line options, checked; a usage message if they are bad. */
function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rates: { type: "string", default: "200,1000,5000,20000,flood" },
      rounds: { type: "string", default: "3" },
      seconds: { type: "string", default: "3" },
      workers: { type: "string", default: "2" },
      "idle-seconds": { type: "string", default: "20" },
      "delay-events": { type: "string", default: "20" },
      parts: { type: "string", default: PARTS.join(",") },
      baseline: { type: "string" },
    },
  });
  const rates: Rate[] = values.rates.split(",").map((r) => r === "flood" ? r : Number(r));
  const parts = values.parts.split(",") as Part[];
  const opts = {
    rates,
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    workers: Number(values.workers),
    idleSeconds: Number(values["idle-seconds"]),
    delayEvents: Number(values["delay-events"]),
    parts: new Set(parts),
    baseline: values.baseline,
  };
  const count = (n: number) => Number.isInteger(n) && n > 0;
  const ok = count(opts.rounds) && opts.seconds > 0 && count(opts.workers) &&
    opts.idleSeconds > 0 && count(opts.delayEvents) &&
    rates.every((r) => r === "flood" || (Number.isFinite(r) && r > 0)) &&
    parts.every((p) => PARTS.includes(p));
  return ok ? opts : undefined;
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = options(Deno.args);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
  }
  if (!opts) {
    console.error(USAGE);
    return 2;
  }
  const { rates, rounds, seconds, workers, idleSeconds, delayEvents, parts, baseline: earlier } =
    opts;
  if (Deno.uid() !== 0) {
    console.error("bench: must run as root (the tracers load eBPF programs)");
    return 1;
  }
  for (const binary of [TCPTOOLS, ...earlier ? [earlier] : []]) {
    try {
      Deno.statSync(binary);
    } catch {
      console.error(`bench: ${binary} not found: run \`deno task build\` first`);
      return 1;
    }
  }

  // Every tool (and its baseline build's), then the peers: libbpf-tools
  // tcplife and a bpftrace tcpconnect.
  const rows: Row[] = TOOLS.flatMap((tool) =>
    [[TCPTOOLS, "tcptools"], ...earlier ? [[earlier, "baseline"]] : []].map(([binary, who]) => ({
      name: `${who} ${tool.name}`,
      command: [binary, tool.name],
      pipedCommand: [binary, tool.name],
      ready: "header" as const,
      perConnection: tool.ends.length,
      printsAt: tool.printsAt,
    }))
  );
  // The cost of the in-kernel --cgroup check (bpf/common.bpf.h, socket_in_scope),
  // which life makes at every state change: the root, which every socket passes.
  const cgroupRoot = cgroupV2Root();
  if (cgroupRoot !== undefined) {
    rows.splice(1, 0, {
      name: "tcptools life --cgroup /",
      command: [TCPTOOLS, "life", "--cgroup", cgroupRoot],
      pipedCommand: [TCPTOOLS, "life", "--cgroup", cgroupRoot],
      ready: "header",
      perConnection: 2,
      printsAt: "close",
    });
  }
  // tcptools metrics counts in the kernel and prints nothing: its cost per
  // connection beside life's (the same hooks, counters instead of events).
  const metricsPort = (() => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    listener.close();
    return listener.addr.port;
  })();
  rows.push({
    name: "tcptools metrics",
    command: [TCPTOOLS, "metrics", "--listen", `127.0.0.1:${metricsPort}`],
    ready: "link",
    perConnection: 0,
  });
  // --hist counts in the kernel too and prints its histograms at the end only.
  for (const tool of TOOLS.filter((tool) => tool.histogram)) {
    rows.push({
      name: `tcptools ${tool.name} --hist`,
      command: [TCPTOOLS, tool.name, "--hist"],
      ready: "banner",
      perConnection: 0,
    });
  }
  const notes: string[] = [];
  let tcplife: Row | undefined;
  try {
    Deno.statSync(TCPLIFE);
    // libbpf-tools find tracepoints through tracefs.
    if (!new Deno.Command("mountpoint", { args: ["-q", TRACEFS] }).outputSync().success) {
      run("mount", ["-t", "tracefs", "nodev", TRACEFS]);
    }
    tcplife = {
      name: "libbpf-tools tcplife",
      command: [TCPLIFE],
      pipedCommand: ["stdbuf", "-oL", TCPLIFE],
      ready: "link",
      perConnection: 2,
      printsAt: "close",
    };
    rows.push(tcplife);
  } catch {
    notes.push(`libbpf-tools tcplife: skipped, ${TCPLIFE} not found (apt install libbpf-tools)`);
  }
  try {
    Deno.statSync(BPFTRACE);
    rows.push({
      name: "bpftrace tcpconnect-tp",
      command: [BPFTRACE, "-e", BPFTRACE_CONNECT],
      ready: "header",
      perConnection: 1,
    });
  } catch {
    notes.push(`bpftrace: skipped, ${BPFTRACE} not found (apt install bpftrace)`);
  }
  const baseline: Row = { name: "no tracer" };
  rows.push(baseline);
  const tracers = rows.filter((row) => row.command);

  tempDir = await Deno.makeTempDir({ prefix: "tcptools-bench-" });
  const floodBinary = join(tempDir, "flood");
  const taxBinary = join(tempDir, "getppid");
  run("gcc", ["-O2", "-pthread", "-o", floodBinary, join(root, "scripts", "bench", "flood.c")]);
  run("gcc", ["-O2", "-o", taxBinary, join(root, "scripts", "bench", "getppid.c")]);
  const ticksPerSecond = Number(run("getconf", ["CLK_TCK"]));
  const cpuModel = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1];
  const tables: string[] = [];

  if (parts.has("sweep")) {
    const loads: Load[] = rates.map((rate) => ({
      rate,
      // A paced rate needs time to make enough connections for a CPU per connection.
      seconds: rate === "flood" ? seconds : Math.max(seconds, MIN_CONNECTIONS / rate),
      workers,
    }));
    // An untimed flood first: fills the TIME_WAIT table and warms caches, so
    // round 1 runs in the same steady state as the rest.
    await flood(floodBinary, { rate: "flood", seconds, workers });
    const samples = new Map(loads.map((load) => [load, new Map<Row, Sample[]>()]));
    for (let round = 1; round <= rounds; round++) {
      for (const load of loads) {
        // Interleaved (A, B, baseline, A, B, ...) so drift hits every row alike.
        for (const row of rows) {
          const sample = await measure(row, round, floodBinary, load, ticksPerSecond);
          const atRate = samples.get(load)!;
          atRate.set(row, [...atRate.get(row) ?? [], sample]);
          console.log(rawLine(round, load, row, sample));
        }
      }
    }
    const lines = [
      `| median of ${rounds} | rate | connections/s | tracer CPU (µs/conn) | × tcplife | lines/conn | attach (ms) | peak RSS (MB) | lost (stderr) | missed (BPF recursion) | other lines |`,
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const load of loads) {
      const med = (row: Row, key: keyof Sample) =>
        median(samples.get(load)!.get(row)!.map((s) => s[key]));
      const reference = tcplife ? med(tcplife, "cpuUsPerConn") : NaN;
      for (const row of rows) {
        const cpu = med(row, "cpuUsPerConn");
        const ratio = row.name.startsWith("tcptools ") ? cpu / reference : NaN;
        lines.push(
          `| ${row.name} | ${rateName(load.rate)} | ${fmt(med(row, "connsPerSec"))} | ${
            fmt(cpu, 2)
          } | ${fmt(ratio, 2)} | ${fmt(med(row, "linesPerConn"), 4)} | ${
            fmt(med(row, "attachMs"))
          } | ${fmt(med(row, "rssMb"), 1)} | ${fmt(med(row, "lost"))} | ${
            fmt(med(row, "missed"))
          } | ${fmt(med(row, "otherLines"))} |`,
        );
      }
    }
    tables.push(lines.join("\n"));
    const durations = loads.map((l) => `${rateName(l.rate)} ${fmt(l.seconds, 1)} s`).join(", ");
    notes.push(
      `sweep: ${workers} client threads connect()+close() on 127.0.0.1, paced to the rate (flood: ` +
        `as fast as they can); the server closes first; one tracer start per row, rate and round; ` +
        `durations: ${durations} (at least ${MIN_CONNECTIONS} connections or --seconds), each after ` +
        `${WARMUP_SECONDS} s of the same load, unmeasured`,
      "tracer CPU: time on CPU of all the tracer's threads (first field of /proc/PID/task/*/schedstat, ns) " +
        "from the load's start to just before SIGINT, per connection (start-up and warm-up excluded, " +
        "start-up shown per round); each thread sampled every 100 ms, so one that exits within the " +
        "window counts too; each round's line also shows the figure " +
        'from /proc/PID/stat\'s utime+stime (10 ms ticks) as "stat"; ' +
        "BPF program time is spent in the clients' threads and shows as fewer connections/s in the flood",
      "× tcplife: a tcptools row's CPU per connection over libbpf-tools tcplife's at the same rate",
      "lines/conn: data lines about the load's port / connections (tcptools metrics and --hist print none: tests/metrics_test.ts and tests/hist_test.ts check their counts); complete is 2.0000 for sessions " +
        "(client and server socket each seen), 1.0000 for connects",
      "attach: spawn to header line (--hist: its banner) in the output file; tcplife block-buffers a file stdout (its header only " +
        "lands at exit), so for it: spawn to its bpf_link fd appearing in /proc/PID/fd",
      "peak RSS: VmHWM at the end of the load",
      "missed: recursion_misses of the tracer's BPF programs (fdinfo): tracepoint hits the kernel skipped " +
        "because the program was already running on that CPU",
      "other lines: lines about other TCP traffic on the machine during the load; the tracer's CPU " +
        "includes printing them, so a row with many is inflated",
    );
  }

  if (parts.has("idle")) {
    const lines = [
      `| idle, ${idleSeconds} s | CPU (ms/minute) | wake-ups/s | lines printed |`,
      "| --- | ---: | ---: | ---: |",
    ];
    for (const row of tracers) {
      const idle = await measureIdle(row, idleSeconds);
      console.log(
        `idle ${row.name.padEnd(22)} cpu ${fmt(idle.cpuMsPerMinute, 1)} ms/min  ` +
          `wake-ups ${fmt(idle.wakeUpsPerSecond, 1)}/s  lines ${idle.lines}`,
      );
      lines.push(
        `| ${row.name} | ${fmt(idle.cpuMsPerMinute, 1)} | ${
          fmt(idle.wakeUpsPerSecond, 1)
        } | ${idle.lines} |`,
      );
    }
    tables.push(lines.join("\n"));
    notes.push(
      `idle: each tracer attached (after ${SETTLE_MS} ms to settle) for ${idleSeconds} s with no ` +
        "traffic from the bench, once; CPU from schedstat as above, per minute; wake-ups: " +
        "voluntary_ctxt_switches summed over /proc/PID/task/*/status (each is a sleep ended by a " +
        "wake-up); lines printed: other TCP traffic on the machine, which an idle figure includes",
    );
  }

  if (parts.has("tax")) {
    const samples = new Map<Row, number[]>(rows.map((row) => [row, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const row of rows) {
        const ns = await measureTax(row, round, taxBinary);
        samples.get(row)!.push(ns);
        console.log(`tax round ${round} ${row.name.padEnd(22)} getppid ${fmt(ns, 1)} ns/call`);
      }
    }
    const bare = median(samples.get(baseline)!);
    const lines = [
      `| syscall tax, median of ${rounds} | getppid (ns/call) | ns added | added (%) |`,
      "| --- | ---: | ---: | ---: |",
    ];
    for (const row of rows) {
      const ns = median(samples.get(row)!);
      const added = row.command ? ns - bare : NaN;
      lines.push(
        `| ${row.name} | ${fmt(ns, 1)} | ${fmt(added, 1)} | ${fmt(added / bare * 100)} |`,
      );
    }
    tables.push(lines.join("\n"));
    notes.push(
      `syscall tax: scripts/bench/getppid.c times ${TAX_CALLS} syscall(SYS_getppid) calls ` +
        `${TAX_REPS} times while the tracer is attached, in interleaved rounds, and takes the fastest ` +
        "repetition (other load only adds time; a hook costs every call alike); " +
        "ns added: over no tracer: what the tracer's hooks cost every system call on the machine, " +
        "which no CPU column shows",
    );
  }

  if (parts.has("delay")) {
    const lines = [
      `| output delay, ${delayEvents} connections | median (ms) | max (ms) | not printed |`,
      "| --- | ---: | ---: | ---: |",
    ];
    for (const row of rows.filter((row) => row.pipedCommand)) {
      const delays = await measureDelay(row, delayEvents);
      const printed = delays.filter(Number.isFinite);
      const max = Math.max(...printed);
      console.log(
        `delay ${row.name.padEnd(22)} ${delays.map((ms) => fmt(ms, 1)).join(" ")} ms`,
      );
      lines.push(
        `| ${row.name} | ${fmt(median(printed), 2)} | ${fmt(max, 2)} | ${
          delays.length - printed.length
        } |`,
      );
    }
    tables.push(lines.join("\n"));
    notes.push(
      `output delay: the bench makes ${delayEvents} single connections to a listener of its own, ` +
        `${DELAY_GAP_MS}-${2 * DELAY_GAP_MS} ms apart at random (each finds the tracer idle, and ` +
        "a periodic timer in it at any phase), and times from the client's " +
        "connect() (close() for life and tcplife, which print at the close) returning to the " +
        "connection's last line arriving on the tracer's stdout pipe (performance.now() in the " +
        "bench: its own event loop adds a little on both ends); tcplife runs under `stdbuf -oL`, " +
        `as C stdio block-buffers a pipe; bpftrace is not timed; not printed: no line within ${DELAY_TIMEOUT_MS} ms`,
    );
  }

  console.log("\n" + tables.join("\n\n"));
  notes.push(
    `kernel: ${Deno.osRelease()}; CPU: ${cpuModel} x ${navigator.hardwareConcurrency}`,
    `command: deno run -A scripts/bench.ts ${Deno.args.join(" ")}`.trimEnd(),
  );
  console.log("\n" + notes.map((note) => `- ${note}`).join("\n"));
  return 0;
}

// Ctrl-C on the bench: still kill the tracers and remove the temp dir.
Deno.addSignalListener("SIGINT", () => {
  cleanup();
  Deno.exit(130);
});
let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`bench: ${(error as Error).message}`);
} finally {
  cleanup();
}
Deno.exit(code);
