/**
 * Benchmark: `tcptools life` against libbpf-tools `tcplife`, `tcptools
 * accept`, `connect` and `connlat` against a bpftrace one-liner on the same
 * tracepoint (their C peers need kprobes), and no tracer, under the same loopback
 * connection flood (scripts/bench/flood.c), in interleaved rounds, reported
 * as one markdown table of medians.
 *
 * Usage: deno task bench [--rounds N] [--seconds S] [--workers W]   (as root)
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TOOLS } from "../src/tools/registry.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TCPTOOLS = join(root, "dist", "tcptools");
const TCPLIFE = "/usr/sbin/tcplife";
const BPFTRACE = "/usr/bin/bpftrace";
/** tcpconnect-tp from the bpftrace book: active opens from the tracepoint alone. */
const BPFTRACE_CONNECT = 'BEGIN { printf("PID COMM DPORT\\n"); } ' +
  "tracepoint:sock:inet_sock_set_state /args->oldstate == 7 && args->newstate == 2/ " +
  '{ printf("%d %s %d \\n", pid, comm, args->dport); }';
const TRACEFS = "/sys/kernel/tracing";
/** Pause between attach and flood, so tracer start-up work is over. */
const SETTLE_MS = 500;
/** Pause between flood end and SIGINT, so the tracer prints what is queued. */
const DRAIN_MS = 300;

/** How the bench knows a tracer has attached. */
type Ready =
  | "header" // its column header ("PID ...") is in the output file
  // tcplife block-buffers stdout into a file, so its header only shows at
  // exit: wait for the bpf_link fd it gets from attaching instead.
  | "link";

interface Row {
  name: string;
  /** Tracer command line; none for the baseline. */
  command?: string[];
  ready?: Ready;
  /** Lines a complete trace prints per connection: 2 for sessions (both ends), 1 for connects. */
  perConnection?: number;
}

/** One row's numbers in one round (tracer fields are NaN for the baseline). */
interface Sample {
  connsPerSec: number;
  connections: number;
  failed: number;
  cpuUsPerConn: number;
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
  startupCpuMs: NaN,
  linesPerConn: NaN,
  missingLines: NaN,
  otherLines: NaN,
  attachMs: NaN,
  rssMb: NaN,
  lost: NaN,
  missed: NaN,
};

const children = new Set<Deno.ChildProcess>();
let tempDir: string | undefined;

/** Kills whatever is still running and removes the temp dir (idempotent). */
function cleanup(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  children.clear();
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

/** utime + stime of a whole process (all threads), in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after "(comm)" start at field 3; utime and stime are fields 14, 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Peak resident set (VmHWM) in MB. */
function peakRssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** The fdinfo texts of a process's fds that link to `target` (e.g. "anon_inode:bpf-prog"). */
function fdInfos(pid: number, target: string): string[] {
  const infos = [];
  let fds: Iterable<Deno.DirEntry> = [];
  try {
    fds = Deno.readDirSync(`/proc/${pid}/fd`);
  } catch { /* the process is exiting: it has no fds left to show */ }
  for (const entry of fds) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`) !== target) continue;
      infos.push(Deno.readTextFileSync(`/proc/${pid}/fdinfo/${entry.name}`));
    } catch { /* the fd closed while we looked */ }
  }
  return infos;
}

/**
 * Events the kernel dropped before the tracer's BPF programs ran: a program is
 * skipped when its tracepoint fires while it already runs on that CPU (e.g. a
 * softirq on top of it). Neither tracer can see or report these.
 */
function recursionMisses(pid: number): number {
  return fdInfos(pid, "anon_inode:bpf-prog")
    .map((info) => Number(/recursion_misses:\s+(\d+)/.exec(info)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
}

/** Sum of the "lost N events" reports of both tracers' stderr. */
function lostEvents(stderr: string): number {
  return [...stderr.matchAll(/lost (\d+) events/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Runs the flood to completion. */
async function flood(
  binary: string,
  seconds: number,
  workers: number,
): Promise<{ connections: number; seconds: number; failed: number; port: number }> {
  const child = new Deno.Command(binary, {
    args: [String(seconds), String(workers)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  children.add(child);
  const out = await child.output();
  children.delete(child);
  const decoder = new TextDecoder();
  if (!out.success) throw new Error(`flood failed: ${decoder.decode(out.stderr).trim()}`);
  return JSON.parse(decoder.decode(out.stdout));
}

/** Waits for `condition`, failing if the tracer exits or takes too long. */
async function waitFor(what: string, condition: () => boolean, exited: () => boolean) {
  const deadline = performance.now() + 30_000;
  // exited() first: once the tracer is gone its /proc entries are too.
  while (exited() || !condition()) {
    if (exited()) throw new Error(`${what}: the tracer exited before attaching`);
    if (performance.now() > deadline) throw new Error(`${what}: not attached after 30 s`);
    await sleep(2);
  }
}

/** One row, one round: start the tracer, flood, stop it, read its numbers. */
async function measure(
  row: Row,
  round: number,
  floodBinary: string,
  seconds: number,
  workers: number,
  clockTicks: number,
): Promise<Sample> {
  if (!row.command) {
    const f = await flood(floodBinary, seconds, workers);
    return {
      connsPerSec: f.connections / f.seconds,
      connections: f.connections,
      failed: f.failed,
      ...NO_TRACER,
    };
  }
  const base = join(tempDir!, `${round}-${row.name.replaceAll(/\W+/g, "_")}`);
  const outFile = `${base}.out`;
  const errFile = `${base}.err`;
  // Deno.Command cannot hand a file to a child as its stdout, so a shell opens
  // the files and execs the tracer (same PID, nothing for us to drain).
  const started = performance.now();
  const tracer = new Deno.Command("sh", {
    args: ["-c", 'exec "$@" >"$OUT" 2>"$ERR"', "sh", ...row.command],
    env: { OUT: outFile, ERR: errFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  children.add(tracer);
  let exited = false;
  const status = tracer.status.finally(() => exited = true);
  const pid = tracer.pid;
  try {
    await waitFor(row.name, () => {
      if (row.ready === "link") return fdInfos(pid, "anon_inode:bpf_link").length > 0;
      try {
        return /^PID /m.test(Deno.readTextFileSync(outFile));
      } catch {
        return false; // the shell has not created it yet
      }
    }, () => exited);
  } catch (error) {
    await sleep(50); // let its stderr land
    const stderr = Deno.readTextFileSync(errFile).trim();
    throw new Error(`${(error as Error).message}${stderr ? `: ${stderr}` : ""}`);
  }
  const attachMs = performance.now() - started;

  await sleep(SETTLE_MS);
  const cpuBefore = cpuTicks(pid);
  const f = await flood(floodBinary, seconds, workers);
  await sleep(DRAIN_MS);
  // Sampled while the process still exists: after SIGINT /proc/<pid> goes.
  const cpuAfter = cpuTicks(pid);
  const rssMb = peakRssMb(pid);
  const missed = recursionMisses(pid);
  tracer.kill("SIGINT");
  const timeout = setTimeout(() => tracer.kill("SIGKILL"), 10_000);
  const end = await status;
  clearTimeout(timeout);
  children.delete(tracer);
  const stderr = Deno.readTextFileSync(errFile);
  if (end.signal) throw new Error(`${row.name} did not stop on SIGINT: ${stderr.trim()}`);

  const output = Deno.readTextFileSync(outFile).trimEnd().split("\n");
  // Lines before the column header (a banner, bpftrace's "Attaching") are not events.
  const header = output.findIndex((line) => line.startsWith("PID"));
  if (header < 0) throw new Error(`${row.name}: no header line in its output`);
  const lines = output.slice(header + 1);
  // Only the flood's sessions count (its port as a column of its own), so other
  // TCP traffic on the machine cannot pass for events.
  // (Padded with spaces: accept's last column is the port, unpadded when 5 digits wide.)
  const floodLines = lines.filter((line) => ` ${line} `.includes(` ${f.port} `)).length;
  const us = (ticks: number) => ticks / clockTicks * 1e6;
  return {
    connsPerSec: f.connections / f.seconds,
    connections: f.connections,
    failed: f.failed,
    cpuUsPerConn: us(cpuAfter - cpuBefore) / f.connections,
    startupCpuMs: us(cpuBefore) / 1000,
    linesPerConn: floodLines / f.connections,
    missingLines: row.perConnection! * f.connections - floodLines,
    otherLines: lines.length - floodLines,
    attachMs,
    rssMb,
    lost: lostEvents(stderr),
    missed,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Formats a number with `digits` decimals; "–" where it does not apply. */
const fmt = (value: number, digits = 0) => Number.isNaN(value) ? "–" : value.toFixed(digits);

function rawLine(round: number, row: Row, s: Sample): string {
  const parts = [`round ${round} ${row.name.padEnd(20)} ${fmt(s.connsPerSec).padStart(6)} conn/s`];
  parts.push(`(${s.connections} conns${s.failed ? `, ${s.failed} failed` : ""})`);
  if (row.command) {
    parts.push(
      `cpu ${fmt(s.cpuUsPerConn, 2)} µs/conn (startup ${fmt(s.startupCpuMs)} ms)`,
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "3" },
      seconds: { type: "string", default: "3" },
      workers: { type: "string", default: "2" },
    },
  });
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const workers = Number(values.workers);
  if (!(Number.isInteger(rounds) && rounds > 0 && seconds > 0 && Number.isInteger(workers))) {
    console.error("usage: deno task bench [--rounds N] [--seconds S] [--workers W]");
    return 2;
  }
  if (Deno.uid() !== 0) {
    console.error("bench: must run as root (both tracers load eBPF programs)");
    return 1;
  }
  try {
    Deno.statSync(TCPTOOLS);
  } catch {
    console.error("bench: dist/tcptools not found: run `deno task build` first");
    return 1;
  }

  // Every tool, then the peers: libbpf-tools tcplife and a bpftrace tcpconnect.
  const rows: Row[] = TOOLS.map((tool) => ({
    name: `tcptools ${tool.name}`,
    command: [TCPTOOLS, tool.name],
    ready: "header",
    perConnection: tool.ends.length,
  }));
  const notes: string[] = [];
  try {
    Deno.statSync(TCPLIFE);
    // libbpf-tools find tracepoints through tracefs.
    if (!new Deno.Command("mountpoint", { args: ["-q", TRACEFS] }).outputSync().success) {
      run("mount", ["-t", "tracefs", "nodev", TRACEFS]);
    }
    rows.push({
      name: "libbpf-tools tcplife",
      command: [TCPLIFE],
      ready: "link",
      perConnection: 2,
    });
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
  rows.push({ name: "no tracer" });

  tempDir = await Deno.makeTempDir({ prefix: "tcptools-bench-" });
  const floodBinary = join(tempDir, "flood");
  run("gcc", ["-O2", "-pthread", "-o", floodBinary, join(root, "scripts", "bench", "flood.c")]);
  const clockTicks = Number(run("getconf", ["CLK_TCK"]));

  // An untimed flood first: fills the TIME_WAIT table and warms caches, so
  // round 1 runs in the same steady state as the rest.
  await flood(floodBinary, seconds, workers);

  const samples = new Map<Row, Sample[]>(rows.map((row) => [row, []]));
  for (let round = 1; round <= rounds; round++) {
    // Interleaved (A, B, baseline, A, B, ...) so drift hits every row alike.
    for (const row of rows) {
      const sample = await measure(row, round, floodBinary, seconds, workers, clockTicks);
      samples.get(row)!.push(sample);
      console.log(rawLine(round, row, sample));
    }
  }

  const med = (row: Row, key: keyof Sample) => median(samples.get(row)!.map((s) => s[key]));
  const cpuModel = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1];
  console.log(`
| median of ${rounds} | connections/s | tracer CPU (µs/conn) | lines/conn | attach (ms) | peak RSS (MB) | lost (stderr) | missed (BPF recursion) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${fmt(med(row, "connsPerSec"))} | ${fmt(med(row, "cpuUsPerConn"), 2)} | ${
        fmt(med(row, "linesPerConn"), 4)
      } | ${fmt(med(row, "attachMs"))} | ${fmt(med(row, "rssMb"), 1)} | ${
        fmt(med(row, "lost"))
      } | ${fmt(med(row, "missed"))} |`,
    );
  }
  notes.push(
    `flood: ${workers} client threads connect()+close() for ${seconds} s on 127.0.0.1; the server closes first`,
    "tracer CPU: utime+stime from flood start to just before SIGINT (start-up excluded, shown per round); " +
      "BPF program time is spent in the flooding threads and shows as fewer connections/s",
    "lines/conn: data lines about the flood's port / connections; complete is 2.0000 for sessions (client and server socket each seen), 1.0000 for connects",
    "attach: spawn to header line in the output file; tcplife block-buffers a file stdout (its header only " +
      "lands at exit), so for it: spawn to its bpf_link fd appearing in /proc/PID/fd",
    "missed: recursion_misses of the tracer's BPF programs (fdinfo): tracepoint hits the kernel skipped " +
      "because the program was already running on that CPU",
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
