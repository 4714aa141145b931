/**
 * What the kernel side's session tracking (bpf/session.bpf.h), shared by
 * `life` and `metrics`, needs of the kernel, and what it counts about
 * sessions it could not follow, as the run reports it. Losses go to stderr as they grow. A session that was
 * already open when tracing started is no loss (docs/life.md says they are not
 * shown, as in bcc): its close is counted for metrics only, or every run on
 * a busy host would end in a warning.
 *
 * @module
 */
import type { CounterMessages } from "../trace/self_reports.ts";

/** What bpf/session.bpf.h needs of the kernel, said when the programs are rejected. */
export const SESSION_KERNEL =
  "Linux 5.11+ built with BTF (tracing programs with socket-local storage)";

/** The counters of bpf/session.bpf.h, by map name. */
export const SESSION_COUNTERS: CounterMessages = {
  // A new socket reusing the memory of one whose close the kernel never traced.
  untraced_closes: (n, total) =>
    `${n} sessions ended without a traced close (${total} in total): ` +
    "the kernel freed their sockets unreported",
  untracked_sessions: (n, total) =>
    `${n} sessions not tracked (${total} in total): ` +
    "the kernel had no memory for their socket storage",
  unowned_accepts: (n, total) =>
    `${n} accepted sockets had their process not noted (${total} in total): ` +
    "too many accepted sockets were waiting for their first state change",
  closes_before_tracing: null,
};
