/**
 * The run loop every tool shares: check the host, open the tool's BPF
 * object, write its configuration, load, fill the port filters, attach every
 * program, print the header, then stream events until a signal, a closed
 * stdout, --duration or the end of the traced command (trace/scope.ts),
 * reporting lost events on stderr: as they grow, even while stdout is
 * stalled, and at the end on every path, with the lines captured but never
 * printed. Every native resource is released
 * on every path. It knows no tool: src/tools/ describes them.
 *
 * @module
 */
import type { BpfObject, ProgramName } from "../bpf/object.ts";
import { RingReader } from "../bpf/ring_reader.ts";
import type { Format } from "../output/format.ts";
import { BatchWriter, OutputError } from "../output/writer.ts";
import type { ScopeOptions } from "../cli/args.ts";
import { type AttachSpec, loadAndAttach } from "./attach.ts";
import { checkEnvironment } from "./environment.ts";
import { Scope } from "./scope.ts";
import { type CounterMessages, SelfReports } from "./self_reports.ts";
import { onStopSignals } from "./stop_signals.ts";

/** What a run needs: the object (trace/attach.ts), and how to print its events. */
export interface TraceSpec<Event, P extends ProgramName = ProgramName> extends AttachSpec<P> {
  /** Tool name for messages, e.g. "tcptools life". */
  tool: string;
  decode(record: DataView): Event;
  /** The header, printed once attached (so errors come before it), and the lines. */
  format: Format<Event>;
  /** Lines printed after tracing ends (e.g. a table read from a map). */
  summary?: (object: BpfObject<P>) => string[];
  /**
   * Per-CPU counter maps of events that end unprinted for a reason of their
   * own, reported like lost events (trace/self_reports.ts).
   */
  unprinted?: CounterMessages;
  /** What is traced and for how long: the flags every tool has. */
  scope: ScopeOptions;
}

/**
 * After the kernel wakes the reader for a first record, and then for as long
 * as events keep coming, events gather this long before they are drained,
 * formatted and written together: at any rate, at most about four cycles a
 * second (each costs far more than the events in it), and no line waits
 * longer than this to be printed (plus the drain), under the 250 ms the
 * README promises. A buffer filling up meanwhile wakes the reader at once
 * (`wakeup_bytes`).
 */
const BATCH_MS = 240;
/**
 * Lost and skipped events are looked at this often at most, and this long
 * after activity. While events keep coming, the loop waits on its own
 * thread (RingReader.waitHere) and lets the event loop turn this often, and
 * on a signal to this thread.
 */
const CHECK_MS = 1000;
/** How long a stop may take to print what is pending before the process just exits. */
const STOP_GRACE_MS = 150;

/** Traces until stopped; resolves to the exit status. */
export async function trace<Event, P extends ProgramName>(
  spec: TraceSpec<Event, P>,
): Promise<number> {
  checkEnvironment();
  using scope = Scope.open(spec.scope);
  using object = loadAndAttach(spec, scope);

  const out = new BatchWriter();
  using reader = new RingReader(object.mapFd("events"), spec.ringBytes, (record) => {
    const line = spec.format.line(spec.decode(record));
    if (line !== undefined) out.push(line);
  });

  const reports = new SelfReports(spec.tool, object, spec.unprinted);
  let status = 0;
  let ended = false;
  /** Queued lines that are no events (the header, the summary), not counted as unprinted. */
  let notEvents = 0;
  const unprinted = () => Math.max(0, out.unprinted() - notEvents);
  /**
   * Ends the run with `end`: the loop below ends at its next turn. If stdout
   * is a pipe nobody reads, the flush it waits for never ends: the process
   * then leaves anyway, saying on stderr what it could not print. Exiting
   * closes the BPF descriptors, which detaches everything.
   */
  const stop = (end = 0) => {
    status = end;
    reader.interrupt();
    Deno.unrefTimer(setTimeout(() => {
      if (ended) return;
      reader.drain(); // what the ring buffer still holds is captured, not printed
      reports.final(unprinted(), "stdout did not take them");
      scope[Symbol.dispose](); // the command's cgroup
      Deno.exit(status);
    }, STOP_GRACE_MS));
  };
  /** Flushes stdout; a flush that waits for a stalled reader still reports losses. */
  const flush = async () => {
    const timer = setInterval(() => reports.report(), CHECK_MS);
    try {
      await out.flush();
    } finally {
      clearInterval(timer);
    }
  };
  // A stop sent earlier, even during start-up, is delivered here (stop_signals.ts),
  // and the loop below then ends at once: the header may be printed, nothing more.
  // In command mode they go to the command instead, whose end ends the run.
  using _signals = scope.passesSignals ? undefined : onStopSignals(() => stop());
  let endFailed: { error: unknown } | undefined;
  let why = "";
  try {
    const header = spec.format.header();
    for (const line of header) out.push(line);
    notEvents = header.length;
    await flush();
    notEvents = 0;
    scope.begin()?.then(stop, (error) => {
      endFailed = { error }; // e.g. the command could not start: reported below
      reader.interrupt();
    });
    // Records that came between attaching and the reader's first wait woke nobody.
    reader.drain();
    await flush();
    const msUntil = (time: number) => Math.ceil(Math.max(0, time - performance.now()));
    let checked = performance.now();
    let checkDue = false;
    const check = () => {
      if (!checkDue || performance.now() - checked < CHECK_MS) return;
      reports.report();
      checked = performance.now();
      checkDue = false;
    };
    const setPolling = (on: boolean) =>
      object.updateMap("reader_polling", new Uint8Array(4), new Uint8Array([on ? 1 : 0, 0, 0, 0]));
    /**
     * While events keep coming: every batch period, drain and write what
     * came, on this thread, with no turn of the event loop but one every
     * CHECK_MS (each costs several times a batch at hundreds of events a
     * second), and no wake-up for a first record (the programs submit
     * without one meanwhile, unless the buffer fills: submit_event in
     * bpf/common.bpf.h). Returns after a batch period that brought nothing,
     * at the end of --duration, on a stop, or on a signal to this thread
     * (whose listener runs in the idle wait that follows).
     */
    const drainWhileBusy = async () => {
      setPolling(true);
      try {
        let turned = performance.now();
        for (;;) {
          const woke = reader.waitHere(Math.min(BATCH_MS, msUntil(scope.deadline)));
          const drained = reader.drain();
          // A stdout that is behind is waited for in the event loop, where a stop can come.
          if (!out.flushHere()) await flush();
          checkDue = true;
          check();
          if (woke !== "woken" && woke !== "timeout") return;
          if (drained === 0 || performance.now() >= scope.deadline || reader.interrupted) return;
          if (performance.now() - turned >= CHECK_MS) {
            // For what only the event loop sees: a signal that another thread
            // took, the traced command's end.
            await new Promise((resolve) => setTimeout(resolve, 0));
            turned = performance.now();
          }
        }
      } finally {
        // From here on a first record wakes the reader again. One submitted
        // unwoken just before is drained now, or (if it raced this drain)
        // at the end of the next idle wait, which has a time-out for it.
        setPolling(false);
        reader.drain();
      }
    };
    let afterBusy = false;
    for (;;) {
      // Idle, nothing waits: no time-out, no wake-ups at all (after a last check).
      const timeout = afterBusy ? BATCH_MS : checkDue ? msUntil(checked + CHECK_MS) : -1;
      const woke = await reader.wait(timeout);
      if (woke === "interrupted") break;
      afterBusy = woke === "woken";
      if (woke === "woken") {
        await drainWhileBusy();
        checkDue = true;
      } else reader.drain();
      await flush();
      check();
    }
    if (endFailed) throw endFailed.error;
    reader.drain(); // what arrived before the signal is still printed
    const summary = spec.summary?.(object) ?? [];
    for (const line of summary) out.push(line);
    notEvents = summary.length;
    await flush();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) {
      why = error instanceof OutputError ? "stdout failed" : "the run failed";
      throw error;
    }
    // The reader of stdout went away (e.g. `| head`): a normal end.
    why = "the reader of stdout went away";
  } finally {
    ended = true;
    if (why) reader.drain(); // captured, and now never printed
    reports.final(unprinted(), why);
  }
  return status;
}
