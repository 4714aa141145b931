/**
 * Decodes `struct connect_event` (bpf/connect.h): one active TCP open, and
 * `struct connect_count_key`, the key of the per-destination counters.
 *
 * @module
 */
import {
  ConnectOutcome,
  decodeConnectCountKeyRecord,
  decodeConnectEventRecord,
} from "../../gen/connect.ts";
import { type Identity, identityOf } from "./identity.ts";
import { addressPair } from "./record.ts";

/** How an attempt ended, as far as the kernel knew when it was reported. */
export type Outcome =
  | "pending"
  | "established"
  | "refused"
  | "timed-out"
  | "unreachable"
  | "aborted";

/** enum connect_outcome's names by value: CONNECT_TIMED_OUT (3) is "timed-out". */
export const OUTCOMES: ReadonlyMap<number, Outcome> = new Map(
  Object.entries(ConnectOutcome).map(([name, value]) => [
    value as number,
    name.slice("CONNECT_".length).toLowerCase().replaceAll("_", "-") as Outcome,
  ]),
);

/** One connect() of a TCP socket. */
export interface ConnectEvent {
  /** Kernel monotonic time of the SYN_SENT transition inside connect(), µs. */
  startUs: number;
  /**
   * From the SYN_SENT transition to the report, µs: to the answer, or (pending)
   * to the SYN leaving; so `startUs + latencyUs` is when the event was reported.
   */
  latencyUs: number;
  pid: number;
  uid: number;
  comm: string;
  ip: 4 | 6;
  saddr: string;
  lport: number;
  daddr: string;
  dport: number;
  outcome: Outcome;
  /** The errno of a failed attempt (sk_err), else 0. */
  error: number;
  /** The caller of connect(), the socket's network namespace and cookie. */
  identity: Identity;
}

/** Decodes one record; throws on a short record, an unknown family or outcome. */
export function decodeConnectEvent(record: DataView): ConnectEvent {
  const r = decodeConnectEventRecord(record);
  const [ip, saddr, daddr] = addressPair("connect_event", r.family, r.saddr, r.daddr);
  const outcome = OUTCOMES.get(r.outcome);
  if (outcome === undefined) throw new RangeError("decode connect_event: unknown outcome");
  return {
    startUs: r.start_us,
    latencyUs: r.latency_us,
    pid: r.pid,
    uid: r.uid,
    lport: r.lport,
    dport: r.dport,
    ip,
    outcome,
    error: r.error,
    saddr,
    daddr,
    comm: r.comm,
    identity: identityOf(r, true),
  };
}

/** One destination counted by `tcptools connect -c`. */
export interface ConnectCount {
  ip: 4 | 6;
  saddr: string;
  daddr: string;
  dport: number;
  count: number;
}

/** Decodes a counters entry: its key and its u64 value. */
export function decodeConnectCount(key: DataView, value: DataView): ConnectCount {
  const k = decodeConnectCountKeyRecord(key);
  const [ip, saddr, daddr] = addressPair("connect_count_key", k.family, k.saddr, k.daddr);
  return {
    ip,
    saddr,
    daddr,
    dport: k.dport,
    count: Number(new BigUint64Array(value.buffer, value.byteOffset, 1)[0]),
  };
}
