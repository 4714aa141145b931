/**
 * The one run session every run goes through, line output, `--hist` and
 * `metrics` alike: check the host, open the scope, open the tool's BPF
 * object, write its globals, load, fill the port filters, attach
 * (trace/attach.ts), then hand over to the run's loop until a stop (a
 * signal, --duration, the traced command's end) and release everything in
 * reverse, reporting on stderr what was lost and what was captured but
 * never printed, on every path. A run supplies only its loop (and its own
 * counters).
 *
 * @module
 */
import type { BpfObject, ProgramName } from "../bpf/object.ts";
import type { ScopeOptions } from "../cli/args.ts";
import { OutputError } from "../output/writer.ts";
import { type AttachSpec, loadAndAttach } from "./attach.ts";
import { checkEnvironment } from "./environment.ts";
import { Scope } from "./scope.ts";
import { type CounterMessages, SelfReports } from "./self_reports.ts";
import { onStopSignals } from "./stop_signals.ts";

/** What a session opens: the object (trace/attach.ts), its scope and its self-reports. */
export interface SessionSpec<P extends ProgramName> extends AttachSpec<P> {
  /** Tool name for messages, e.g. "tcptools life". */
  tool: string;
  /** What is traced and for how long: the flags every tool has. */
  scope: ScopeOptions;
  /** Per-CPU counter maps reported like lost events (trace/self_reports.ts). */
  counters?: CounterMessages;
  /**
   * How long a stop may take to print what is pending before the process
   * just exits (a stdout that is a pipe nobody reads never drains). None:
   * the loop's end is always waited for.
   */
  graceMs?: number;
}

/** What the loop of a run sees of its session. */
export class Session<P extends ProgramName> {
  readonly #stopped: Promise<number>;
  #resolve!: (status: number) => void;
  #status = 0;
  #isStopped = false;
  #failure: { error: unknown } | undefined;
  #wakes: (() => void)[] = [];
  #captured: () => void = () => {};
  #unprinted: () => number = () => 0;
  #ended = false;
  readonly #adopted = new DisposableStack();

  constructor(
    readonly object: BpfObject<P>,
    readonly scope: Scope,
    readonly reports: SelfReports,
    readonly graceMs: number | undefined,
  ) {
    this.#stopped = new Promise((resolve) => this.#resolve = resolve);
  }

  /** Resolves to the exit status once the run is told to end. */
  get stopped(): Promise<number> {
    return this.#stopped;
  }

  /** The exit status the stop gave (0 until then). */
  get status(): number {
    return this.#status;
  }

  /** Calls `wake` on a stop or a failure (at once if one came already): what ends the loop's wait. */
  onStop(wake: () => void): void {
    this.#wakes.push(wake);
    if (this.#isStopped) wake();
  }

  /**
   * For a loop whose events end as lines: `captured` takes what the kernel
   * still holds (then counted as not printed), `unprinted` counts the events
   * captured and never printed, both said at the end.
   */
  countUnprinted(captured: () => void, unprinted: () => number): void {
    this.#captured = captured;
    this.#unprinted = unprinted;
  }

  /**
   * Takes ownership of a resource of the loop that the end still uses (the
   * ring reader, drained then): released after the end's reports.
   */
  adopt<T extends Disposable>(resource: T): T {
    return this.#adopted.use(resource);
  }

  #wake(): void {
    this.#isStopped = true;
    for (const wake of this.#wakes) wake();
  }

  /**
   * Ends the run with `status`: the loop ends at its next turn. If it does
   * not end within the grace period, the process leaves anyway, saying on
   * stderr what it could not print; exiting closes the BPF descriptors,
   * which detaches everything.
   */
  stop(status = 0): void {
    this.#status = status;
    this.#resolve(status);
    this.#wake();
    if (this.graceMs === undefined) return;
    Deno.unrefTimer(setTimeout(() => {
      if (this.#ended) return;
      this.#captured(); // what the ring buffer still holds is captured, not printed
      this.reports.final(this.#unprinted(), "stdout did not take them");
      this.scope[Symbol.dispose](); // the command's cgroup
      Deno.exit(status);
    }, this.graceMs));
  }

  /** Ends the run for `error`, thrown by {@linkcode checkEnd} (status 1 unless it is caught). */
  fail(error: unknown): void {
    this.#failure = { error };
    this.#resolve(1);
    this.#wake();
  }

  /**
   * Once attached and the run's first lines are out: starts what ends the
   * run by itself (--duration, the traced command: trace/scope.ts).
   */
  begin(): void {
    // e.g. the command could not start: thrown by checkEnd.
    this.scope.begin()?.then((status) => this.stop(status), (error) => this.fail(error));
  }

  /** After the loop: throws the failure that ended the run, if one did. */
  checkEnd(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** Called once the loop has ended, on every path: the lost and unprinted counts reach stderr. */
  end(why: string): void {
    this.#ended = true;
    if (why) this.#captured(); // captured, and now never printed
    try {
      this.reports.final(this.#unprinted(), why);
    } finally {
      this.#adopted.dispose();
    }
  }
}

/**
 * Opens the session of `spec`, runs `loop` in it and releases it; resolves
 * to the exit status. A reader of stdout that went away (`| head`) is a
 * normal end.
 */
export async function runSession<P extends ProgramName>(
  spec: SessionSpec<P>,
  loop: (session: Session<P>) => Promise<number>,
): Promise<number> {
  checkEnvironment();
  using scope = Scope.open(spec.scope);
  using object = loadAndAttach(spec, scope);
  const reports = new SelfReports(spec.tool, object, spec.counters);
  const session = new Session(object, scope, reports, spec.graceMs);
  // A stop sent earlier, even during start-up, is delivered here
  // (stop_signals.ts), and the loop then ends at once. In command mode
  // signals go to the command instead, whose end ends the run.
  using _signals = scope.passesSignals ? undefined : onStopSignals(() => session.stop());
  let why = "";
  try {
    return await loop(session);
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) {
      why = error instanceof OutputError ? "stdout failed" : "the run failed";
      throw error;
    }
    why = "the reader of stdout went away";
    return session.status;
  } finally {
    session.end(why);
  }
}
