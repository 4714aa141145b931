/**
 * The run loop every tool shares: check the host, open the tool's BPF
 * object, write its configuration, load, fill the port filters, attach every
 * program, print the header, then stream events until a signal, a closed
 * stdout, --duration or the end of the traced command (trace/scope.ts),
 * reporting lost events on stderr. Every native resource is released
 * on every path. It knows no tool: src/tools/ describes them.
 *
 * @module
 */
import type { ProgramGlobals } from "../../gen/assets.ts";
import { BpfObject, type ProgramName } from "../bpf/object.ts";
import { RingReader } from "../bpf/ring_reader.ts";
import { showLibbpfLog } from "../ffi/embedded_libbpf.ts";
import type { Format } from "../output/format.ts";
import { BatchWriter } from "../output/writer.ts";
import type { ScopeOptions } from "../cli/args.ts";
import { btfPath, checkEnvironment, checkNetAdmin } from "./environment.ts";
import { Scope } from "./scope.ts";
import { onStopSignals } from "./stop_signals.ts";

/** What a run needs. */
export interface TraceSpec<Event, P extends ProgramName = ProgramName> {
  /** Tool name for messages, e.g. "tcptools life". */
  tool: string;
  program: P;
  /** `.rodata` globals written before load (the rest keep their C values). */
  globals: ProgramGlobals[P];
  /** Port filter maps to fill after load: map name -> ports. */
  portFilters?: Record<string, number[]>;
  /** Programs of the object not to load (not needed for these options). */
  skipLoad?: string[];
  /** Ring buffer size in bytes (a power of two, at least a page). */
  ringBytes: number;
  decode(record: DataView): Event;
  /** The header, printed once attached (so errors come before it), and the lines. */
  format: Format<Event>;
  /** Lines printed after tracing ends (e.g. a table read from a map). */
  summary?: (object: BpfObject<P>) => string[];
  /**
   * Per-CPU counter maps of events that end unprinted for a reason of their
   * own, reported like lost events: map name -> the message for `n` new
   * and `total`.
   */
  unprinted?: Record<string, (n: number, total: number) => string>;
  /** Keep libbpf's own messages on stderr. */
  verbose?: boolean;
  /** What is traced and for how long: the flags every tool has. */
  scope: ScopeOptions;
}

/**
 * After the kernel wakes the reader for a first record, events gather this
 * long before they are drained, formatted and written together: at any rate,
 * at most a few cycles a second (each costs far more than the events in it),
 * and no line waits longer than this to be printed (plus the drain). A buffer
 * filling up meanwhile wakes the reader at once (`wakeup_bytes`).
 */
const BATCH_MS = 200;
/** Lost and skipped events are looked at this often at most, and this long after activity. */
const CHECK_MS = 1000;
/** How long a stop may take to print what is pending before the process just exits. */
const STOP_GRACE_MS = 150;

const encoder = new TextEncoder();

function warn(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/** Traces until stopped; resolves to the exit status. */
export async function trace<Event, P extends ProgramName>(
  spec: TraceSpec<Event, P>,
): Promise<number> {
  checkEnvironment();
  using scope = Scope.open(spec.scope);
  if (spec.verbose) showLibbpfLog();
  using object = BpfObject.open(spec.program, { btfPath: btfPath() });
  object.setGlobals({ ...spec.globals, ...scope.globals });
  // Half full: from there each event wakes the reader, which then drains at once.
  object.setRingBuffer(spec.ringBytes, spec.ringBytes / 2);
  for (const program of spec.skipLoad ?? []) object.skipLoad(program);
  if (object.attachesToCgroups()) checkNetAdmin();
  scope.reuseMaps(object);
  object.load();
  for (const [map, ports] of Object.entries(spec.portFilters ?? {})) {
    object.fillPortFilter(map, ports);
  }
  object.attachAll();

  const out = new BatchWriter();
  using reader = new RingReader(object.mapFd("events"), spec.ringBytes, (record) => {
    const line = spec.format.line(spec.decode(record));
    if (line !== undefined) out.push(line);
  });

  const stop = () => {
    reader.interrupt();
    // If stdout is a pipe nobody reads, the last flush never ends: leave
    // anyway. Exiting closes the BPF descriptors, which detaches everything.
    Deno.unrefTimer(setTimeout(() => Deno.exit(0), STOP_GRACE_MS));
  };
  // A stop sent earlier, even during start-up, is delivered here (stop_signals.ts),
  // and the loop below then ends at once: the header may be printed, nothing more.
  // In command mode they go to the command instead, whose end ends the run.
  using _signals = scope.passesSignals ? undefined : onStopSignals(stop);
  // Every count only grows; each report gives what is new and the running total.
  const unprinted: Record<string, (n: number, total: number) => string> = {
    lost_events: (n, total) => `lost ${n} events (${total} in total): the ring buffer was full`,
    ...spec.unprinted,
  };
  const reported: Record<string, number> = {};
  let skipped = 0;
  const reportLost = () => {
    for (const [map, message] of Object.entries(unprinted)) {
      const total = object.sumPerCpu(map);
      const before = reported[map] ?? 0;
      if (total > before) warn(`${spec.tool}: ${message(total - before, total)}`);
      reported[map] = total;
    }
    const missed = object.unrescuedMisses();
    if (missed > skipped) {
      warn(
        `${spec.tool}: the kernel skipped ${
          missed - skipped
        } tracepoint hits (${missed} in total) ` +
          "while the program was already running on that CPU: events may be missing",
      );
      skipped = missed;
    }
  };
  let status = 0;
  let endFailed: { error: unknown } | undefined;
  try {
    for (const line of spec.format.header()) out.push(line);
    await out.flush();
    scope.begin()?.then((end) => {
      status = end;
      reader.interrupt();
    }, (error) => {
      endFailed = { error }; // e.g. the command could not start: reported below
      reader.interrupt();
    });
    // Records that came between attaching and the reader's first wait woke nobody.
    reader.drain();
    await out.flush();
    let checked = performance.now();
    let checkDue = false;
    for (;;) {
      // Idle, nothing waits: no time-out, no wake-ups at all.
      const untilCheck = checkDue
        ? Math.ceil(Math.max(0, checked + CHECK_MS - performance.now()))
        : -1;
      const woke = await reader.wait(untilCheck);
      if (woke === "interrupted") break;
      if (woke === "woken") {
        if (await reader.wait(BATCH_MS) === "interrupted") break;
        reader.drain();
        await out.flush();
        checkDue = true;
      }
      if (checkDue && performance.now() - checked >= CHECK_MS) {
        reportLost();
        checked = performance.now();
        checkDue = false;
      }
    }
    if (endFailed) throw endFailed.error;
    reader.drain(); // what arrived before the signal is still printed
    for (const line of spec.summary?.(object) ?? []) out.push(line);
    await out.flush();
    reportLost();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    // The reader of stdout went away (e.g. `| head`): a normal end.
  }
  return status;
}
