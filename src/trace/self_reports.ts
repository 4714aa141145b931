/**
 * What a run reports about itself on stderr: events the ring buffer had no
 * room for, the tool's own counters of events that end unprinted, and
 * tracepoint hits the kernel skipped. Every count only grows; each report
 * gives what is new and the running total.
 *
 * @module
 */
import type { BpfObject, MapOf, ProgramName } from "../bpf/object.ts";

/**
 * How a counter is reported: a loss, the message for `n` new and `total`,
 * reported on stderr as it grows; or `null`, a count that is no loss (read
 * by totals(), for metrics, never said on stderr).
 */
export type CounterMessage = ((n: number, total: number) => string) | null;

/** Per-CPU counter map name (of object `P`) -> how it is reported. */
export type CounterMessages<P extends ProgramName = ProgramName> = Partial<
  Record<MapOf<P>, CounterMessage>
>;

const encoder = new TextEncoder();

/**
 * How often a run that counts in the kernel (metrics, --hist), which no event
 * wakes, reads its counters to report what grew. A read wakes the runtime,
 * about half a millisecond of CPU: once a second that was 30-40 ms a minute on
 * an idle host (BENCHMARKS.md), over the 10 the tools allow themselves.
 */
const POLL_MS = 10_000;

/** Reports the counters of one object that grew since the last report. */
export class SelfReports {
  readonly #messages: CounterMessages;
  readonly #reported: Record<string, number> = {};
  #skipped = 0;

  constructor(
    readonly tool: string,
    readonly object: BpfObject,
    counters: CounterMessages = {},
  ) {
    this.#messages = {
      lost_events: (n, total) => `lost ${n} events (${total} in total): the ring buffer was full`,
      ...counters,
    };
  }

  /** The current totals: each counter map by name, and `skipped_hits`. */
  totals(): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const map of Object.keys(this.#messages) as MapOf<ProgramName>[]) {
      totals[map] = this.object.sumPerCpu(map);
    }
    totals.skipped_hits = Math.max(0, this.object.unrescuedMisses());
    return totals;
  }

  /** Reports every POLL_MS, until the returned object is disposed. */
  poll(): Disposable {
    const timer = setInterval(() => this.report(), POLL_MS);
    return { [Symbol.dispose]: () => clearInterval(timer) };
  }

  /**
   * What the run ends with: each loss that grew, and `unprinted` events that
   * were captured but never reached stdout (with `why`).
   */
  final(unprinted = 0, why = ""): void {
    this.report();
    if (unprinted > 0) warn(`${this.tool}: ${unprinted} events captured but not printed: ${why}`);
  }

  /** Writes a line on stderr for each loss that grew. */
  report(): void {
    const totals = this.totals();
    for (const [map, message] of Object.entries(this.#messages)) {
      const before = this.#reported[map] ?? 0;
      if (message && totals[map] > before) {
        warn(`${this.tool}: ${message(totals[map] - before, totals[map])}`);
      }
      this.#reported[map] = totals[map];
    }
    const missed = totals.skipped_hits;
    if (missed > this.#skipped) {
      warn(
        `${this.tool}: the kernel skipped ${
          missed - this.#skipped
        } tracepoint hits (${missed} in total) ` +
          "while the program was already running on that CPU: events may be missing",
      );
      this.#skipped = missed;
    }
  }
}

function warn(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr gone too: there is nobody left to tell.
  }
}
