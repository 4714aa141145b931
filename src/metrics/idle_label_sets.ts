/**
 * `--label-idle`: label sets that count nothing for a while are removed from
 * the kernel's map (bpf/metrics.bpf.c's label_sets, a plain hash of
 * `--label-limit` entries), so that names and ports seen once (a flood of
 * short-lived processes) do not hold every entry for good and push every
 * later label set into the overflow series. Removed from user space: the
 * kernel side only ever adds, which keeps a count from landing in an entry
 * that is being removed but for the instant of the removal itself.
 *
 * A removed set's series leaves the exposition; if it counts again it starts
 * from 0, which Prometheus's rate() and increase() take as a counter reset.
 *
 * @module
 */
import type { BpfObject } from "../bpf/object.ts";

const MAP = "label_sets";

/** The label sets of one run and when each last counted. */
export class IdleLabelSets {
  /** Label set (its key's bytes) -> its counts when last changed, and when that was seen. */
  readonly #seen = new Map<string, { counts: string; since: number }>();

  constructor(
    readonly object: BpfObject<"metrics">,
    /** How long a set may count nothing before it is removed, in ms. */
    readonly idleMs: number,
  ) {}

  /** How often to sweep: a set goes between `idleMs` and `idleMs` plus this after its last count. */
  get periodMs(): number {
    return Math.max(100, Math.min(this.idleMs / 2, 10_000));
  }

  /** Removes the sets whose counts did not change for `idleMs`; returns how many. */
  sweep(now = performance.now()): number {
    let removed = 0;
    const present = new Set<string>();
    // Read whole before anything leaves the map, which would upset the walk.
    const entries = [...this.object.entries(MAP)];
    for (const [key, value] of entries) {
      const id = key.join(",");
      const counts = value.join(",");
      present.add(id);
      const seen = this.#seen.get(id);
      if (seen === undefined || seen.counts !== counts) {
        this.#seen.set(id, { counts, since: now });
        continue;
      }
      if (now - seen.since < this.idleMs) continue;
      if (!this.object.takeMapEntry(MAP, key, value)) continue;
      // Counted between the read and the removal: put back what it had, so
      // that only a count landing in the instant of the removal can be lost.
      if (value.join(",") !== counts) this.object.updateMap(MAP, key, value);
      else removed++;
      this.#seen.delete(id);
    }
    for (const id of this.#seen.keys()) if (!present.has(id)) this.#seen.delete(id);
    return removed;
  }
}
