/**
 * What the event decoders of src/events/ make of a generated record
 * (gen/<tool>.ts): the connection's two ends as text, its process, time and
 * identity.
 *
 * @module
 */
import { formatAddress } from "./address.ts";
import { type Identity, identityOf, type IdentityRecord } from "./identity.ts";

/** The address families of the events' `family` fields (bpf/kernel.h). */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** The process and the two ends of a TCP connection, seen from its local side. */
export interface LocalConnection {
  pid: number;
  comm: string;
  ip: 4 | 6;
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
}

/** The IP version (4 or 6) of an address family, or 0 for anything else. */
export function ipVersion(family: number): 0 | 4 | 6 {
  return family === AF_INET ? 4 : family === AF_INET6 ? 6 : 0;
}

/**
 * The IP version of an event's family and its two addresses as text; throws
 * for a family that is neither AF_INET nor AF_INET6.
 */
export function addressPair(
  struct: string,
  family: number,
  a: Uint8Array,
  b: Uint8Array,
): [ip: 4 | 6, a: string, b: string] {
  const ip = ipVersion(family);
  if (ip === 0) throw new RangeError(`decode ${struct}: unknown address family`);
  return [ip, formatAddress(a, ip), formatAddress(b, ip)];
}

/** An event on one connection: the process and both ends, when it happened, and whose it is. */
export interface ConnectionEvent extends LocalConnection {
  /** Kernel monotonic time of the event, µs. */
  tsUs: number;
  identity: Identity;
}

/** The fields of a generated record that make a {@linkcode ConnectionEvent}. */
interface ConnectionRecord extends IdentityRecord {
  ts_us: number;
  pid: number;
  comm: string;
  family: number;
  laddr: Uint8Array;
  lport: number;
  raddr: Uint8Array;
  rport: number;
}

/**
 * The process, both ends, time and identity of a record (`hasTask`: as for
 * identityOf); throws for an unknown address family.
 */
export function connectionEvent(
  struct: string,
  r: ConnectionRecord,
  hasTask: boolean,
): ConnectionEvent {
  const [ip, laddr, raddr] = addressPair(struct, r.family, r.laddr, r.raddr);
  return {
    pid: r.pid,
    comm: r.comm,
    ip,
    laddr,
    lport: r.lport,
    raddr,
    rport: r.rport,
    tsUs: r.ts_us,
    identity: identityOf(r, hasTask),
  };
}
