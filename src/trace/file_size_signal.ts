/**
 * SIGXFSZ, which the kernel sends to a process that writes past its file size
 * limit (`ulimit -f`), ignored: the write then fails with EFBIG, and a stdout
 * that reaches the limit is one line and exit status 1 like any other failed
 * write (output/writer.ts), not a death by the signal (status 153) mid-line.
 * The single-file build's launcher ignores it before the runtime starts
 * (launcher/launcher.c); this does the same when run from source. An ignored
 * signal stays ignored across exec, so a command run by command mode must
 * have it reset to the default.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";

const SIGXFSZ = 25;
const SIG_IGN = 1n;

/** Ignores SIGXFSZ in this process (every thread: dispositions are per process). */
export function ignoreFileSizeSignal(): void {
  libc().signal(SIGXFSZ, Deno.UnsafePointer.create(SIG_IGN));
}
