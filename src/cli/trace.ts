/**
 * The run loop every subcommand shares: check the host, open the tool's BPF
 * object, write its configuration, load, fill the port filters, attach, print
 * the header, then stream events until a signal or a closed stdout, reporting
 * lost events on stderr. Every native resource is released on every path.
 *
 * @module
 */
import { BpfObject, type ProgramName } from "../bpf/object.ts";
import { RingReader } from "../bpf/ring_reader.ts";
import { showLibbpfLog } from "../ffi/embedded_libbpf.ts";
import { BatchWriter } from "../output/writer.ts";
import { btfPath, checkEnvironment } from "./environment.ts";
import { onStopSignals } from "./stop_signals.ts";

/** What a subcommand hands to {@linkcode trace}. */
export interface TraceSpec<Event> {
  /** Tool name for messages, e.g. "tcptools life". */
  tool: string;
  program: ProgramName;
  /**
   * BPF program functions to attach, in order: the primary handler first,
   * then its backup if it has one (see SET_STATE_HANDLERS in bpf/common.bpf.h).
   */
  attach: string[];
  /** `.rodata` globals written before load. */
  globals: Record<string, number>;
  /** Port filter maps to fill: map name -> ports (u16 keys). */
  portMaps?: Record<string, number[]>;
  /** Ring buffer size in bytes (a power of two, at least a page). */
  ringBytes: number;
  decode(record: DataView): Event;
  /** Returns the line for an event, or undefined to print nothing. */
  format(event: Event): string | undefined;
  /** Printed once, after attaching (so errors come before it). */
  header: string[];
  /** Lines printed after tracing ends (e.g. a table read from a map). */
  summary?: (object: BpfObject) => string[];
  /**
   * Per-CPU counter maps of events that end unprinted for a reason of their
   * own, reported like lost events: map name -> the message for `n` new
   * and `total`.
   */
  unprinted?: Record<string, (n: number, total: number) => string>;
  /** Keep libbpf's own messages on stderr. */
  verbose?: boolean;
}

/** Longest idle wait; lost events are looked at this often at most. */
const POLL_MS = 1000;
/**
 * While events keep coming, drain on a timer instead of waiting for each
 * wake-up: one wake-up, one drain and one write per batch cost far more than
 * the events in it. This bounds a busy tracer's output delay (10 ms) and its
 * cycles (100 a second) whatever the event rate.
 */
const BATCH_MS = 10;
/** How long a stop may take to print what is pending before the process just exits. */
const STOP_GRACE_MS = 150;

const encoder = new TextEncoder();

function warn(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/** Waits one batch period; false once the reader is interrupted. */
async function pause(reader: RingReader): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, BATCH_MS));
  return !reader.interrupted;
}

/** Traces until stopped; resolves to the exit status. */
export async function trace<Event>(spec: TraceSpec<Event>): Promise<number> {
  checkEnvironment();
  if (spec.verbose) showLibbpfLog();
  using object = BpfObject.open(spec.program, { btfPath: btfPath() });
  object.setGlobals(spec.globals);
  object.setMaxEntries("events", spec.ringBytes);
  object.load();
  for (const [map, ports] of Object.entries(spec.portMaps ?? {})) {
    for (const port of ports) {
      object.updateMap(map, new Uint8Array(new Uint16Array([port]).buffer), new Uint8Array([1]));
    }
  }
  for (const program of spec.attach) object.attach(program);

  const out = new BatchWriter();
  using reader = new RingReader(object.mapFd("events"), (record) => {
    const line = spec.format(spec.decode(record));
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
  using _signals = onStopSignals(stop);
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
    // Hits the kernel skipped the primary for that the backup did not take:
    // mostly ones the program would have ignored, so they bound the missing
    // events rather than count them.
    const missed = object.missedRuns(spec.attach[0]) - object.sumPerCpu("rescued_events");
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
  try {
    for (const line of spec.header) out.push(line);
    await out.flush();
    let busy = false;
    let checked = performance.now();
    while (busy ? await pause(reader) : await reader.wait(POLL_MS)) {
      busy = reader.drain() > 0;
      await out.flush();
      if (performance.now() - checked >= POLL_MS) {
        reportLost();
        checked = performance.now();
      }
    }
    reader.drain(); // what arrived before the signal is still printed
    for (const line of spec.summary?.(object) ?? []) out.push(line);
    await out.flush();
    reportLost();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    // The reader of stdout went away (e.g. `| head`): a normal end.
  }
  return 0;
}
