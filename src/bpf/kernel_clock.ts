/**
 * Event times come from bpf_ktime_get_ns(), the kernel's CLOCK_MONOTONIC.
 * Adding this offset turns them into wall-clock (CLOCK_REALTIME) time.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;

function nowUs(clock: number): number {
  const ts = new BigInt64Array(2); // struct timespec { tv_sec; tv_nsec; }
  libc().clock_gettime(clock, ts);
  return Number(ts[0]) * 1e6 + Math.floor(Number(ts[1]) / 1000);
}

/** Microseconds to add to a monotonic timestamp to get Unix time. */
export function monotonicToUnixOffsetUs(): number {
  return nowUs(CLOCK_REALTIME) - nowUs(CLOCK_MONOTONIC);
}
