/**
 * Decodes `struct connect_event` (bpf/connect.h): one active TCP open, and
 * `struct connect_count_key`, the key of the per-destination counters.
 *
 * @module
 */
import {
  ipVersion,
  readAddress,
  readComm,
  readU64,
  requireSize,
  type StructLayout,
} from "./record.ts";

/** How an attempt ended, as far as the kernel knew when it was reported. */
export type Outcome =
  | "pending"
  | "established"
  | "refused"
  | "timed-out"
  | "unreachable"
  | "aborted";

// CONNECT_* in bpf/connect.h, by value.
const OUTCOMES: Outcome[] = [
  "pending",
  "established",
  "refused",
  "timed-out",
  "unreachable",
  "aborted",
];

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
}

/** The offsets this decoder reads; a test checks them against the object's BTF. */
export const connectEventLayout: StructLayout = {
  size: 88,
  members: {
    start_us: { offset: 0, size: 8 },
    latency_us: { offset: 8, size: 8 },
    pid: { offset: 16, size: 4 },
    uid: { offset: 20, size: 4 },
    lport: { offset: 24, size: 2 },
    dport: { offset: 26, size: 2 },
    family: { offset: 28, size: 2 },
    outcome: { offset: 30, size: 1 },
    pad: { offset: 31, size: 1 },
    error: { offset: 32, size: 4 },
    pad2: { offset: 36, size: 4 },
    saddr: { offset: 40, size: 16 },
    daddr: { offset: 56, size: 16 },
    comm: { offset: 72, size: 16 },
  },
};

/** Decodes one record; throws on a short record, an unknown family or outcome. */
export function decodeConnectEvent(record: DataView): ConnectEvent {
  requireSize(record, connectEventLayout, "connect_event");
  const ip = ipVersion(record.getUint16(28, true));
  if (ip === 0) throw new RangeError("decode connect_event: unknown address family");
  const outcome = OUTCOMES[record.getUint8(30)];
  if (outcome === undefined) throw new RangeError("decode connect_event: unknown outcome");
  return {
    startUs: readU64(record, 0),
    latencyUs: readU64(record, 8),
    pid: record.getUint32(16, true),
    uid: record.getUint32(20, true),
    lport: record.getUint16(24, true),
    dport: record.getUint16(26, true),
    ip,
    outcome,
    error: record.getUint32(32, true),
    saddr: readAddress(record, 40, ip),
    daddr: readAddress(record, 56, ip),
    comm: readComm(record, 72, 16),
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

/** The offsets of struct connect_count_key; checked against the BTF like the event. */
export const connectCountKeyLayout: StructLayout = {
  size: 36,
  members: {
    saddr: { offset: 0, size: 16 },
    daddr: { offset: 16, size: 16 },
    dport: { offset: 32, size: 2 },
    family: { offset: 34, size: 2 },
  },
};

/** Decodes a counters entry: its key and its u64 value. */
export function decodeConnectCount(key: DataView, value: DataView): ConnectCount {
  requireSize(key, connectCountKeyLayout, "connect_count_key");
  const ip = ipVersion(key.getUint16(34, true));
  if (ip === 0) throw new RangeError("decode connect_count_key: unknown address family");
  return {
    ip,
    saddr: readAddress(key, 0, ip),
    daddr: readAddress(key, 16, ip),
    dport: key.getUint16(32, true),
    count: readU64(value, 0),
  };
}
