/**
 * The loop of the line-per-event tools, in the run session every run shares
 * (trace/session.ts): print the header, then stream events until a signal,
 * a closed stdout, --duration or the end of the traced command
 * (trace/scope.ts), reporting lost events on stderr as they grow, even while
 * stdout is stalled. It knows no tool: src/tools/ describes them.
 *
 * @module
 */
import type { BpfObject, ProgramName } from "../bpf/object.ts";
import { RingReader } from "../bpf/ring_reader.ts";
import type { Format } from "../output/format.ts";
import { BatchWriter } from "../output/writer.ts";
import type { ScopeOptions } from "../cli/args.ts";
import type { AttachSpec } from "./attach.ts";
import type { CounterMessages } from "./self_reports.ts";
import { runSession, type Session } from "./session.ts";

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
 * manual promises (docs/common.md, "When lines appear"). A buffer filling
 * up meanwhile wakes the reader at once (`wakeup_bytes`).
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
export function trace<Event, P extends ProgramName>(
  spec: TraceSpec<Event, P>,
): Promise<number> {
  return runSession(
    { ...spec, counters: spec.unprinted, graceMs: STOP_GRACE_MS },
    (session) => printEvents(spec, session),
  );
}

/** The loop of a line-per-event run: drains the ring buffer into lines on stdout. */
async function printEvents<Event, P extends ProgramName>(
  spec: TraceSpec<Event, P>,
  session: Session<P>,
): Promise<number> {
  const { object, scope, reports } = session;
  const out = new BatchWriter();
  // The session owns it: what it still holds at the end is counted there.
  const reader = session.adopt(
    new RingReader(object.mapFd("events"), spec.ringBytes, (record) => {
      const line = spec.format.line(spec.decode(record));
      if (line !== undefined) out.push(line);
    }),
  );
  /** Queued lines that are no events (the header, the summary), not counted as unprinted. */
  let notEvents = 0;
  session.countUnprinted(
    () => reader.drain(),
    () => Math.max(0, out.unprinted() - notEvents),
  );
  session.onStop(() => reader.interrupt());
  /** Flushes stdout; a flush that waits for a stalled reader still reports losses. */
  const flush = async () => {
    const timer = setInterval(() => reports.report(), CHECK_MS);
    try {
      await out.flush();
    } finally {
      clearInterval(timer);
    }
  };
  // A stop that came during start-up ends the loop below at once: the
  // header may be printed, nothing more.
  const header = spec.format.header();
  for (const line of header) out.push(line);
  notEvents = header.length;
  await flush();
  notEvents = 0;
  session.begin();
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
  // Key 0 of an array, and a little-endian flag: sized as the object says.
  const polling = object.entry("reader_polling");
  const setPolling = (on: boolean) => {
    polling.value[0] = on ? 1 : 0;
    object.updateMap("reader_polling", polling.key, polling.value);
  };
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
  session.checkEnd();
  reader.drain(); // what arrived before the signal is still printed
  const summary = spec.summary?.(object) ?? [];
  for (const line of summary) out.push(line);
  notEvents = summary.length;
  await flush();
  return session.status;
}
