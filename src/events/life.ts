/**
 * Decodes `struct life_event` (bpf/life.h): one TCP session at its close.
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

/** One closed TCP session. */
export interface LifeEvent {
  /** Kernel monotonic time of the close, µs. */
  tsUs: number;
  /** Lifespan, µs. */
  spanUs: number;
  /** Payload bytes received (tcp_sock.bytes_received without the peer's FIN). */
  rxBytes: number;
  /** Payload bytes sent and acknowledged (tcp_sock.bytes_acked without SYN and FIN). */
  txBytes: number;
  /** tcp_sock.bytes_received as the kernel counts it (bcc prints this, in KB). */
  rxCounter: number;
  /** tcp_sock.bytes_acked as the kernel counts it (bcc prints this, in KB). */
  txCounter: number;
  pid: number;
  comm: string;
  ip: 4 | 6;
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
}

/** The offsets this decoder reads; a test checks them against the object's BTF. */
export const lifeEventLayout: StructLayout = {
  size: 96,
  members: {
    ts_us: { offset: 0, size: 8 },
    span_us: { offset: 8, size: 8 },
    rx_bytes: { offset: 16, size: 8 },
    tx_bytes: { offset: 24, size: 8 },
    pid: { offset: 32, size: 4 },
    lport: { offset: 36, size: 2 },
    rport: { offset: 38, size: 2 },
    family: { offset: 40, size: 2 },
    control: { offset: 42, size: 1 },
    pad: { offset: 43, size: 5 },
    laddr: { offset: 48, size: 16 },
    raddr: { offset: 64, size: 16 },
    comm: { offset: 80, size: 16 },
  },
};

// bpf/life.h: which control sequence numbers the counters include.
const TX_SYN = 0x1;
const TX_FIN = 0x2;
const RX_FIN = 0x4;

/** Decodes one record; throws on a short record or an unknown address family. */
export function decodeLifeEvent(record: DataView): LifeEvent {
  requireSize(record, lifeEventLayout, "life_event");
  const ip = ipVersion(record.getUint16(40, true));
  if (ip === 0) throw new RangeError(`decode life_event: unknown address family`);
  const rxCounter = readU64(record, 16);
  const txCounter = readU64(record, 24);
  const control = record.getUint8(42);
  return {
    tsUs: readU64(record, 0),
    spanUs: readU64(record, 8),
    rxBytes: rxCounter - (control & RX_FIN ? 1 : 0),
    txBytes: txCounter - (control & TX_SYN ? 1 : 0) - (control & TX_FIN ? 1 : 0),
    rxCounter,
    txCounter,
    pid: record.getUint32(32, true),
    lport: record.getUint16(36, true),
    rport: record.getUint16(38, true),
    ip,
    laddr: readAddress(record, 48, ip),
    raddr: readAddress(record, 64, ip),
    comm: readComm(record, 80, 16),
  };
}
