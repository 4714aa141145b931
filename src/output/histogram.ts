/**
 * Power-of-two histograms as text, in the layout of bcc's latency tools
 * (print_log2_hist in bcc's table.py): a header naming the unit, then one
 * row per slot from "0 -> 1" up to the last slot holding a count, each with
 * a bar of stars scaled to the largest count. Empty slots below the first
 * count are printed, those above the last are not, and a histogram without
 * counts prints nothing, as in bcc. It knows no tool.
 *
 * @module
 */
import { printable } from "./comm.ts";

/** Counts by slot: slot i holds values from 2^(i-1) to 2^i - 1, slot 1 also 0; slot 0 is unused. */
export type SlotCounts = readonly number[];

/** One histogram of several: what it is for (e.g. `pid = 181`), and its counts. */
export interface HistogramSection {
  title: string;
  counts: SlotCounts;
}

/** The layout up to slot 32, and the wider one bcc switches to for larger slots. */
const NARROW = { indent: 5, label: 19, bound: 10, stars: 40 };
const WIDE = { indent: 15, label: 29, bound: 20, stars: 20 };

/** bcc's bar: one star per `max / width` of the count, rounded down. */
function bar(count: number, max: number, width: number): string {
  return "*".repeat(Math.min(width, Math.floor((width * count) / max))).padEnd(width);
}

/** The rows of one histogram of values in `unit` (e.g. "usecs"); none if it has no counts. */
export function log2Histogram(counts: SlotCounts, unit: string): string[] {
  let last = 0;
  let max = 0;
  counts.forEach((count, slot) => {
    if (count > 0 && slot > 0) last = slot;
    max = Math.max(max, count);
  });
  if (last === 0) return [];
  const layout = last <= 32 ? NARROW : WIDE;
  const lines = [
    `${" ".repeat(layout.indent)}${unit.padEnd(layout.label)} : count     distribution`,
  ];
  for (let slot = 1; slot <= last; slot++) {
    const high = (1n << BigInt(slot)) - 1n;
    const low = slot === 1 ? 0n : 1n << BigInt(slot - 1);
    const count = counts[slot] ?? 0;
    lines.push(
      `${String(low).padStart(layout.bound)} -> ${String(high).padEnd(layout.bound)} : ` +
        `${String(count).padEnd(8)} |${bar(count, max, layout.stars)}|`,
    );
  }
  return lines;
}

/**
 * Several histograms, each after an empty line and its title, as bcc
 * prints a histogram with a section key. Titles are escaped: a process name
 * in one is hostile input (comm.ts).
 */
export function log2Histograms(sections: readonly HistogramSection[], unit: string): string[] {
  return sections.flatMap(({ title, counts }) => [
    "",
    printable(title),
    ...log2Histogram(counts, unit),
  ]);
}
