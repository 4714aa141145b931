/**
 * What the bench reads about a running tracer from /proc: its CPU time, its
 * wake-ups, its peak memory and its BPF programs' skipped hits.
 *
 * @module
 */

/** The names of a process's threads (entries of /proc/PID/task); none once it is gone. */
function threads(pid: number): string[] {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/task`)].map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** Sums `value(text)` over the process's live threads' /proc/PID/task/TID/`file`. */
function sumOverThreads(pid: number, file: string, value: (text: string) => number): number {
  let sum = 0;
  for (const tid of threads(pid)) {
    try {
      sum += value(Deno.readTextFileSync(`/proc/${pid}/task/${tid}/${file}`));
    } catch { /* the thread exited while we looked */ }
  }
  return sum;
}

/**
 * CPU time of a process in ns: the first field of each thread's schedstat
 * (time on a CPU, ns precision, where /proc/PID/stat counts 10 ms ticks).
 * It misses threads that exited during the window: the kernel folds their
 * time into the process's totals, which only /proc/PID/stat shows.
 */
export function cpuNs(pid: number): number {
  return sumOverThreads(pid, "schedstat", (text) => Number(text.split(" ")[0]));
}

/** How often a {@linkcode ThreadWindow} looks at each thread. */
const SAMPLE_MS = 100;

/**
 * A per-thread counter of a process (a field of /proc/PID/task/TID/`file`),
 * summed over a window, counting threads that exit within it: a sum over
 * the live threads at both ends misses them, or subtracts what they had
 * before (the runtime's worker threads exit after seconds idle). Each thread
 * is sampled every SAMPLE_MS, so one that exits loses at most its last
 * period, and one born in the window counts from zero.
 */
export class ThreadWindow {
  readonly #first = new Map<string, number>();
  readonly #last = new Map<string, number>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly pid: number,
    readonly file: string,
    readonly value: (text: string) => number,
  ) {
    this.#sample(true);
    this.#timer = setInterval(() => this.#sample(false), SAMPLE_MS);
  }

  #sample(atStart: boolean): void {
    for (const tid of threads(this.pid)) {
      let value: number;
      try {
        value = this.value(Deno.readTextFileSync(`/proc/${this.pid}/task/${tid}/${this.file}`));
      } catch {
        continue; // it exited while we looked
      }
      if (!this.#first.has(tid)) this.#first.set(tid, atStart ? value : 0);
      this.#last.set(tid, value);
    }
  }

  /** Ends the window; returns the counter's growth over it, summed over the threads. */
  end(): number {
    clearInterval(this.#timer);
    this.#sample(false);
    let sum = 0;
    for (const [tid, value] of this.#last) sum += value - this.#first.get(tid)!;
    return sum;
  }
}

/** A window over the process's CPU time in ns (schedstat, as {@linkcode cpuNs}). */
export function cpuWindow(pid: number): ThreadWindow {
  return new ThreadWindow(pid, "schedstat", (text) => Number(text.split(" ")[0]));
}

/**
 * CPU time of a process in ns as /proc/PID/stat counts it (utime + stime, in
 * clock ticks of 1/`ticksPerSecond`): coarse, but it includes threads that
 * have exited, so it cross-checks cpuNs.
 */
export function statCpuNs(pid: number, ticksPerSecond: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after "(comm)" start at field 3; utime and stime are fields 14, 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond * 1e9;
}

/**
 * A window over the times the process's threads gave up the CPU to wait
 * (voluntary context switches): each is one sleep, so one wake-up.
 */
export function wakeUpWindow(pid: number): ThreadWindow {
  return new ThreadWindow(
    pid,
    "status",
    (text) => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(text)?.[1] ?? 0),
  );
}

/** Peak resident set (VmHWM) in MB. */
export function peakRssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** The fdinfo texts of a process's fds that link to `target` (e.g. "anon_inode:bpf-prog"). */
export function fdInfos(pid: number, target: string): string[] {
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
export function recursionMisses(pid: number): number {
  return fdInfos(pid, "anon_inode:bpf-prog")
    .map((info) => Number(/recursion_misses:\s+(\d+)/.exec(info)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
}
