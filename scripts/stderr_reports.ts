/**
 * Reading what a tracer reported on stderr about events it did not print.
 * Each report carries a running total ("... (N in total) ..."), so the last
 * one of a kind is the whole count. Used by the soak script and the
 * reliability tests; `tests/life_test.ts` checks the messages' exact form.
 *
 * @module
 */

/** The kinds of report, each matching its running total. */
export const REPORTS = {
  /** Events the full ring buffer had no room for. */
  lost: /lost \d+ events \((\d+) in total\)/g,
  /** Tracepoint hits the kernel skipped that no backup program took. */
  skipped: /skipped \d+ tracepoint hits \((\d+) in total\)/g,
  /** `life` sessions whose socket the kernel freed without a traced close. */
  untraced: /ended without a traced close \((\d+) in total\)/g,
  /** Events captured but never printed: said once, as the run ends (stdout stalled or gone). */
  unprinted: /(\d+) events captured but not printed/g,
} as const;

/** The last running total of one kind of report in `stderr`; 0 if none. */
export function reportedTotal(stderr: string, kind: keyof typeof REPORTS): number {
  return Number([...stderr.matchAll(REPORTS[kind])].pop()?.[1] ?? 0);
}
