/**
 * The names destinations were looked up by, for connect -d's QUERY column:
 * bcc tcpconnect's cache and its column text. At most 10240 entries, the
 * least recently answered dropped first; an entry is good for 24 hours.
 * Answers root received are kept apart, 10240 more, so that no user's
 * lookups can push them out.
 *
 * Unlike bcc's, an answer names an address only for connects in the network
 * namespace of the socket that received it, made by that socket's owner, or
 * by anyone there if root received it (a resolver run by root, nscd): anyone
 * can run a DNS server of their own and ask it, and its answers must not
 * rename root's connects. An unprivileged user's namespace maps their root to
 * their own uid, which the kernel reports.
 *
 * @module
 */
import { fixed } from "../output/printf.ts";

/** bcc's TTLCache: maxsize and ttl. */
const MAX_ENTRIES = 10240;
const TTL_US = 86400 * 1_000_000;
/** bcc appends the age of an answer older than this at the connect. */
const SHOW_AGE_MS = 100;

/** Where an answer was received, or a connect made: a network namespace and a user. */
export interface DnsScope {
  /** Inode number of the network namespace. */
  netns: number;
  /** The user (the initial user namespace's id). */
  uid: number;
}

const ROOT = 0;

interface Entry {
  name: string;
  atUs: number;
}

function key({ netns, uid }: DnsScope, address: string): string {
  return `${netns} ${uid} ${address}`;
}

/** (Scope, address text) -> the name and when its answer arrived. */
export class DnsCache {
  #byRoot = new Map<string, Entry>();
  #byUsers = new Map<string, Entry>();

  constructor(readonly maxEntries = MAX_ENTRIES) {}

  /** Entries held: root's and the other users'. */
  get size(): number {
    return this.#byRoot.size + this.#byUsers.size;
  }

  /**
   * Notes that `address` (as the connect columns print it) answered `name`
   * at `atUs` (kernel µs), to a socket of `scope`.
   */
  add(scope: DnsScope, address: string, name: string, atUs: number): void {
    const entries = scope.uid === ROOT ? this.#byRoot : this.#byUsers;
    const k = key(scope, address);
    entries.delete(k); // re-inserted as the newest
    entries.set(k, { name, atUs });
    if (entries.size > this.maxEntries) entries.delete(entries.keys().next().value!);
  }

  /**
   * bcc's QUERY text for a connect of `scope` to `address` at `atUs`: the
   * name, with ` (N.NNNms)` when the answer came more than 100 ms before;
   * without an answer, `localhost` for 127.0.0.1 and ::1, else `No DNS Query`.
   */
  query(scope: DnsScope, address: string, atUs: number): string {
    const own = this.#byUsers.get(key(scope, address));
    const root = this.#byRoot.get(key({ netns: scope.netns, uid: ROOT }, address));
    const entry = own && root ? (own.atUs >= root.atUs ? own : root) : own ?? root;
    if (entry === undefined || atUs - entry.atUs > TTL_US) {
      return address === "127.0.0.1" || address === "::1" ? "localhost" : "No DNS Query";
    }
    // Records of different CPUs can arrive microseconds out of order.
    const ageMs = Math.max(0, atUs - entry.atUs) / 1000;
    return ageMs > SHOW_AGE_MS ? `${entry.name} (${fixed(ageMs, 3)}ms)` : entry.name;
  }
}
