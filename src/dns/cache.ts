/**
 * The names destinations were looked up by, for connect -d's QUERY column:
 * bcc tcpconnect's cache and its column text. At most 10240 addresses, the
 * least recently answered dropped first; an entry is good for 24 hours.
 *
 * @module
 */
import { fixed } from "../output/printf.ts";

/** bcc's TTLCache: maxsize and ttl. */
const MAX_ENTRIES = 10240;
const TTL_US = 86400 * 1_000_000;
/** bcc appends the age of an answer older than this at the connect. */
const SHOW_AGE_MS = 100;

/** Address text -> the name and when its answer arrived. */
export class DnsCache {
  #entries = new Map<string, { name: string; atUs: number }>();

  constructor(readonly maxEntries = MAX_ENTRIES) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Notes that `address` (as the connect columns print it) answered `name` at `atUs` (kernel µs). */
  add(address: string, name: string, atUs: number): void {
    this.#entries.delete(address); // re-inserted as the newest
    this.#entries.set(address, { name, atUs });
    if (this.#entries.size > this.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /**
   * bcc's QUERY text for a connect to `address` at `atUs`: the name, with
   * ` (N.NNNms)` when the answer came more than 100 ms before; without an
   * answer, `localhost` for 127.0.0.1 and ::1, else `No DNS Query`.
   */
  query(address: string, atUs: number): string {
    const entry = this.#entries.get(address);
    if (entry === undefined || atUs - entry.atUs > TTL_US) {
      return address === "127.0.0.1" || address === "::1" ? "localhost" : "No DNS Query";
    }
    // Records of different CPUs can arrive microseconds out of order.
    const ageMs = Math.max(0, atUs - entry.atUs) / 1000;
    return ageMs > SHOW_AGE_MS ? `${entry.name} (${fixed(ageMs, 3)}ms)` : entry.name;
  }
}
