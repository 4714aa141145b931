/**
 * The optional time columns every tool shares: `TIME` (-T, the local
 * wall-clock time when the line is printed) and `TIME(s)` (-t, seconds since
 * the first printed event, from the kernel timestamps), plus the ISO 8601
 * event time of the JSON output.
 *
 * Lines are printed in the order their records were reserved in the ring
 * buffer, and each stamp is taken a little before that, on its own CPU: two
 * CPUs' records can be a few microseconds out of order. So a stamp never goes
 * back: a line's time is the later of its event's time and the time of the
 * line before it.
 *
 * @module
 */
import type { Column } from "./column.ts";
import { fixed } from "./printf.ts";

/** Tracks the first and the latest printed event. */
export class TimeColumns {
  #firstUs: number | undefined;
  #latestUs = -Infinity;
  #unixOffsetUs: number;

  /** `unixOffsetUs` turns kernel monotonic µs into Unix µs (see kernel_clock.ts). */
  constructor(unixOffsetUs = 0) {
    this.#unixOffsetUs = unixOffsetUs;
  }

  /** The line's time: the event's, unless the line before it had a later one. */
  #stamp(tsUs: number): number {
    this.#latestUs = Math.max(this.#latestUs, tsUs);
    return this.#latestUs;
  }

  /** Seconds since the first event passed here (which itself gives 0); never decreasing. */
  relativeSeconds(tsUs: number): number {
    const us = this.#stamp(tsUs);
    this.#firstUs ??= us;
    return (us - this.#firstUs) / 1e6;
  }

  /** The event's wall-clock time, ISO 8601 in UTC with microseconds; never decreasing. */
  isoTime(tsUs: number): string {
    const unixUs = this.#stamp(tsUs) + this.#unixOffsetUs;
    const ms = Math.floor(unixUs / 1000);
    const iso = new Date(ms).toISOString(); // 2026-11-23T09:00:00.123Z
    const us = String(Math.floor(unixUs - ms * 1000)).padStart(3, "0");
    return `${iso.slice(0, 23)}${us}Z`;
  }
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Local time now as HH:MM:SS (strftime("%H:%M:%S")). */
export function wallClock(now = new Date()): string {
  return `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
}

/** -T's column: the local time when the line is printed. */
export function timeColumn<E>(width: number, gap?: string): Column<E> {
  return { header: "TIME", width, gap, value: () => wallClock() };
}

/** -t's column: seconds since the first printed event (at `at(event)`, kernel µs), `digits` decimals. */
export function secondsColumn<E>(
  clock: TimeColumns,
  at: (event: E) => number,
  digits: number,
  width?: number,
  gap?: string,
): Column<E> {
  return {
    header: "TIME(s)",
    width,
    gap,
    value: (event) => fixed(clock.relativeSeconds(at(event)), digits),
  };
}
