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
  rxBytes: number;
  txBytes: number;
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
    pad: { offset: 42, size: 6 },
    laddr: { offset: 48, size: 16 },
    raddr: { offset: 64, size: 16 },
    comm: { offset: 80, size: 16 },
  },
};

/** Decodes one record; throws on a short record or an unknown address family. */
export function decodeLifeEvent(record: DataView): LifeEvent {
  requireSize(record, lifeEventLayout, "life_event");
  const ip = ipVersion(record.getUint16(40, true));
  if (ip === 0) throw new RangeError(`decode life_event: unknown address family`);
  return {
    tsUs: readU64(record, 0),
    spanUs: readU64(record, 8),
    rxBytes: readU64(record, 16),
    txBytes: readU64(record, 24),
    pid: record.getUint32(32, true),
    lport: record.getUint16(36, true),
    rport: record.getUint16(38, true),
    ip,
    laddr: readAddress(record, 48, ip),
    raddr: readAddress(record, 64, ip),
    comm: readComm(record, 80, 16),
  };
}
