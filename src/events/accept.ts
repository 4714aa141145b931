/**
 * Decodes `struct accept_event` (bpf/accept.h): one accepted TCP connection.
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

/** One connection returned by accept() or accept4(). */
export interface AcceptEvent {
  /** Kernel monotonic time of the accept's return, µs. */
  tsUs: number;
  pid: number;
  comm: string;
  ip: 4 | 6;
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
  /** The listener's accept queue length after this accept, and its limit. */
  backlog: number;
  backlogMax: number;
}

/** The offsets this decoder reads; a test checks them against the object's BTF. */
export const acceptEventLayout: StructLayout = {
  size: 80,
  members: {
    ts_us: { offset: 0, size: 8 },
    pid: { offset: 8, size: 4 },
    backlog: { offset: 12, size: 4 },
    backlog_max: { offset: 16, size: 4 },
    lport: { offset: 20, size: 2 },
    rport: { offset: 22, size: 2 },
    family: { offset: 24, size: 2 },
    pad: { offset: 26, size: 6 },
    laddr: { offset: 32, size: 16 },
    raddr: { offset: 48, size: 16 },
    comm: { offset: 64, size: 16 },
  },
};

/** Decodes one record; throws on a short record or an unknown address family. */
export function decodeAcceptEvent(record: DataView): AcceptEvent {
  requireSize(record, acceptEventLayout, "accept_event");
  const ip = ipVersion(record.getUint16(24, true));
  if (ip === 0) throw new RangeError("decode accept_event: unknown address family");
  return {
    tsUs: readU64(record, 0),
    pid: record.getUint32(8, true),
    backlog: record.getUint32(12, true),
    backlogMax: record.getUint32(16, true),
    lport: record.getUint16(20, true),
    rport: record.getUint16(22, true),
    ip,
    laddr: readAddress(record, 32, ip),
    raddr: readAddress(record, 48, ip),
    comm: readComm(record, 64, 16),
  };
}
