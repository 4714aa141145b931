/**
 * One tracer process under the bench: started with its stdout going to a file
 * (nothing for the bench to drain while it measures) or to a pipe the bench
 * reads (to time each line's arrival), waited for until attached, stopped
 * with SIGINT.
 *
 * @module
 */
import { fdInfos } from "./proc.ts";

/** How the bench knows a tracer has attached. */
export type Ready =
  | "header" // its column header ("PID ...") is in its output
  // --hist: its banner ("Tracing ..."), printed once attached; it prints no
  // column header and no line per event (histograms at the end).
  | "banner"
  // tcplife block-buffers stdout into a file, so its header only shows at
  // exit: wait for the bpf_link fd it gets from attaching instead.
  | "link";

/** A tracer's command line and how to see it attached. */
export interface TracerCommand {
  name: string;
  command: string[];
  ready: Ready;
}

/** A line of a piped tracer's stdout and when the bench received it (performance.now()). */
export interface Line {
  text: string;
  at: number;
}

/** What a stopped tracer printed: its lines after the column header, and its stderr. */
export interface Stopped {
  lines: string[];
  stderr: string;
}

/** Processes the bench started and has not reaped: killed if the bench stops early. */
export const spawned = new Set<Deno.ChildProcess>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** The lines after the column header (a banner, bpftrace's "Attaching" are not events). */
function afterHeader(name: string, ready: Ready, output: string[]): string[] {
  if (output.length === 0 || ready === "banner") return []; // prints no event (metrics, --hist)
  const header = output.findIndex((line) => line.startsWith("PID"));
  if (header < 0) throw new Error(`${name}: no header line in its output`);
  return output.slice(header + 1);
}

export class Tracer {
  /** Spawn to attached (header seen, or bpf_link fd for "link"), ms. */
  attachMs = NaN;
  /** Piped stdout only: every line so far, in order. */
  readonly lines: Line[] = [];
  #exited = false;
  #status: Promise<Deno.CommandStatus>;
  #reading: Promise<void> = Promise.resolve();

  private constructor(
    readonly spec: TracerCommand,
    private readonly child: Deno.ChildProcess,
    private readonly outFile: string | undefined,
    private readonly errFile: string,
  ) {
    spawned.add(child);
    this.#status = child.status.finally(() => this.#exited = true);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Starts `spec` with stdout to `base`.out and stderr to `base`.err; resolves once attached. */
  static toFile(spec: TracerCommand, base: string): Promise<Tracer> {
    const started = performance.now();
    // Deno.Command cannot hand a file to a child as its stdout, so a shell opens
    // the files and execs the tracer (same PID, nothing for us to drain).
    const child = new Deno.Command("sh", {
      args: ["-c", 'exec "$@" >"$OUT" 2>"$ERR"', "sh", ...spec.command],
      env: { OUT: `${base}.out`, ERR: `${base}.err` },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    return new Tracer(spec, child, `${base}.out`, `${base}.err`).#attached(started);
  }

  /** Starts `spec` with stdout piped to the bench (lines timestamped on arrival), stderr to `base`.err. */
  static toPipe(spec: TracerCommand, base: string): Promise<Tracer> {
    const started = performance.now();
    const child = new Deno.Command("sh", {
      args: ["-c", 'exec "$@" 2>"$ERR"', "sh", ...spec.command],
      env: { ERR: `${base}.err` },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const tracer = new Tracer(spec, child, undefined, `${base}.err`);
    tracer.#reading = (async () => {
      let rest = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        const at = performance.now();
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const text of parts) tracer.lines.push({ text, at });
      }
    })();
    return tracer.#attached(started);
  }

  async #attached(started: number): Promise<Tracer> {
    const { name, ready } = this.spec;
    try {
      await waitFor(name, () => {
        if (ready === "link") return fdInfos(this.pid, "anon_inode:bpf_link").length > 0;
        if (ready === "banner") return this.#output().some((line) => line.startsWith("Tracing "));
        return this.#output().some((line) => line.startsWith("PID "));
      }, () => this.#exited);
    } catch (error) {
      await sleep(50); // let its stderr land
      const stderr = this.#stderr().trim();
      throw new Error(`${(error as Error).message}${stderr ? `: ${stderr}` : ""}`);
    }
    this.attachMs = performance.now() - started;
    return this;
  }

  #output(): string[] {
    if (!this.outFile) return this.lines.map((line) => line.text);
    try {
      return Deno.readTextFileSync(this.outFile).split("\n");
    } catch {
      return []; // the shell has not created it yet
    }
  }

  #stderr(): string {
    try {
      return Deno.readTextFileSync(this.errFile);
    } catch {
      return "";
    }
  }

  /** SIGINT, wait for the exit (SIGKILL after 10 s: an error), and what it printed. */
  async stop(): Promise<Stopped> {
    this.child.kill("SIGINT");
    const timeout = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    const end = await this.#status;
    clearTimeout(timeout);
    await this.#reading;
    spawned.delete(this.child);
    const stderr = this.#stderr();
    if (end.signal) throw new Error(`${this.spec.name} did not stop on SIGINT: ${stderr.trim()}`);
    const output = this.#output();
    while (output.at(-1) === "") output.pop();
    return { lines: afterHeader(this.spec.name, this.spec.ready, output), stderr };
  }
}
