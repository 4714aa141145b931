/**
 * The optional time columns every tool shares: `TIME` (-T, the local
 * wall-clock time when the line is printed) and `TIME(s)` (-t, seconds since
 * the first printed event, from the kernel timestamps), plus the ISO 8601
 * event time of the JSON output.
 *
 * @module
 */
import type { Column } from "./format.ts";
import { fixed } from "./printf.ts";

/** Tracks the first printed event for `TIME(s)`. */
export class TimeColumns {
  #firstUs: number | undefined;
  #unixOffsetUs: number;

  /** `unixOffsetUs` turns kernel monotonic µs into Unix µs (see kernel_clock.ts). */
  constructor(unixOffsetUs = 0) {
    this.#unixOffsetUs = unixOffsetUs;
  }

  /** Seconds since the first event passed here (which itself gives 0); may be negative. */
  relativeSeconds(tsUs: number): number {
    this.#firstUs ??= tsUs;
    return (tsUs - this.#firstUs) / 1e6;
  }

  /** The event's wall-clock time, ISO 8601 in UTC with microseconds. */
  isoTime(tsUs: number): string {
    const unixUs = tsUs + this.#unixOffsetUs;
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
