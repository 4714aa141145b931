/**
 * Event times come from bpf_ktime_get_ns(), the kernel's CLOCK_MONOTONIC.
 * Adding this offset turns them into wall-clock (CLOCK_REALTIME) time.
 *
 * @module
 */
import { libc, TIMESPEC } from "../ffi/libc.ts";

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;

function nowUs(clock: number): number {
  const ts = new Uint8Array(TIMESPEC.size);
  libc().clock_gettime(clock, ts);
  const view = new DataView(ts.buffer);
  const [sec, nsec] = [TIMESPEC.sec, TIMESPEC.nsec].map((at) => Number(view.getBigInt64(at, true)));
  return sec * 1e6 + Math.floor(nsec / 1000);
}

/** Microseconds to add to a monotonic timestamp to get Unix time. */
export function monotonicToUnixOffsetUs(): number {
  return nowUs(CLOCK_REALTIME) - nowUs(CLOCK_MONOTONIC);
}
