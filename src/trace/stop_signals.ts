/**
 * The signals that stop a trace (SIGINT, SIGTERM, SIGHUP), and the one place
 * that starts listening for them.
 *
 * The single-file build's launcher blocks these signals before the runtime
 * starts (launcher/launcher.c), so that one sent during start-up waits,
 * pending, instead of killing the process by the signal before there is a
 * listener. Once the listeners are installed they are unblocked here: a
 * pending one is then delivered and stops the trace like any later one.
 *
 * @module
 */
import { libc, SIGSET } from "../ffi/libc.ts";

/** The signals that stop a trace (or, in command mode, are passed to the command). */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const satisfies Deno.Signal[];
/** One of {@linkcode STOP_SIGNALS}. */
export type StopSignal = typeof STOP_SIGNALS[number];
/** Their numbers on Linux (for exit statuses, 128 + N, and signal masks). */
export const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
const SIG_UNBLOCK = 1;

/**
 * Unblocks the stop signals on this thread, the runtime's main thread. The
 * runtime's other threads keep the launcher's mask (seen: the FFI worker
 * threads too, whose waits open it themselves, see bpf/ring_reader.ts), so a
 * signal for the process is delivered here or to a waiting worker, and Deno's
 * handler turns it into a listener call either way.
 */
function unblockStopSignals(): void {
  const set = new BigUint64Array(SIGSET.size / 8); // signal n is bit n - 1
  for (const signal of STOP_SIGNALS) set[0] |= 1n << BigInt(SIGNAL_NUMBERS[signal] - 1);
  libc().sigprocmask(SIG_UNBLOCK, set, null);
}

/** Calls `handle` on each stop signal until the returned object is disposed. */
export function onStopSignals(handle: (signal: StopSignal) => void): Disposable {
  const listeners = STOP_SIGNALS.map((signal) => [signal, () => handle(signal)] as const);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  unblockStopSignals();
  return {
    [Symbol.dispose]() {
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    },
  };
}
