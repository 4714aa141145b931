/**
 * Decodes `struct accept_event` (bpf/accept.h): one accepted TCP connection.
 *
 * @module
 */
import { decodeAcceptEventRecord } from "../../gen/accept.ts";
import { formatAddress } from "./address.ts";
import { ipVersion } from "./record.ts";

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

/** Decodes one record; throws on a short record or an unknown address family. */
export function decodeAcceptEvent(record: DataView): AcceptEvent {
  const r = decodeAcceptEventRecord(record);
  const ip = ipVersion(r.family);
  if (ip === 0) throw new RangeError("decode accept_event: unknown address family");
  return {
    tsUs: r.ts_us,
    pid: r.pid,
    backlog: r.backlog,
    backlogMax: r.backlog_max,
    lport: r.lport,
    rport: r.rport,
    ip,
    laddr: formatAddress(r.laddr, ip),
    raddr: formatAddress(r.raddr, ip),
    comm: r.comm,
  };
}
