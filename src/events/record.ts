/**
 * Field readers shared by the event decoders (gen/<tool>.ts and
 * src/events/): records arrive as a DataView over the ring buffer.
 *
 * @module
 */
import { formatAddress } from "./address.ts";
import { type Identity, identityOf, type IdentityRecord } from "./identity.ts";

/** The address families of the events' `family` fields (bpf/kernel.h). */
export const AF_INET = 2;
export const AF_INET6 = 10;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The first code unit of the lone surrogates that stand for bytes that are
 * not UTF-8: byte B (0x80 to 0xff) is U+DC00 + B, as Python's
 * "surrogateescape" does. U+FFFD for each, as bcc prints them, would make
 * different names one (`dup\xffX` and `dup\xfeX`: one metrics label set, one
 * histogram), so the bytes stay distinct here; output/comm.ts shows them as
 * `\xHH`, and `--json` as U+FFFD (output/format.ts), keeping it strict UTF-8.
 */
export const RAW_BYTE_BASE = 0xdc00;

/**
 * The UTF-8 sequence at `at` in `bytes` (before `end`) as [code point, length],
 * or undefined where there is none (a stray, overlong or cut-short sequence,
 * a surrogate, or past U+10FFFF), as the WHATWG decoder judges them.
 */
function sequenceAt(bytes: Uint8Array, at: number, end: number): [number, number] | undefined {
  const lead = bytes[at];
  const [length, min] = lead >= 0xf0 && lead <= 0xf4
    ? [4, 0x10000]
    : lead >= 0xe0
    ? [3, 0x800]
    : lead >= 0xc2 && lead <= 0xdf
    ? [2, 0x80]
    : [0, 0];
  if (length === 0 || lead > 0xf4 || at + length > end) return undefined;
  let code = lead & (0xff >> (length + 1));
  for (let i = 1; i < length; i++) {
    const next = bytes[at + i];
    if ((next & 0xc0) !== 0x80) return undefined;
    code = (code << 6) | (next & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return [code, length];
}

/** `bytes` as text, each byte that is not part of a UTF-8 sequence as its lone surrogate. */
function decodeKeepingBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    let text = "";
    for (let at = 0; at < bytes.length;) {
      const sequence = bytes[at] < 0x80 ? [bytes[at], 1] : sequenceAt(bytes, at, bytes.length);
      if (sequence === undefined) {
        text += String.fromCharCode(RAW_BYTE_BASE + bytes[at]);
        at++;
      } else {
        text += String.fromCodePoint(sequence[0]);
        at += sequence[1];
      }
    }
    return text;
  }
}

/**
 * A C string in a fixed array (a task comm): the bytes up to the first NUL
 * (at most `size`), UTF-8 decoded, with any byte that is not UTF-8 kept as a
 * lone surrogate (see {@linkcode RAW_BYTE_BASE}).
 */
export function readCString(record: DataView, offset: number, size: number): string {
  // ASCII, as most names are, is read here: a call to the decoder costs more.
  let text = "";
  let end = 0;
  for (; end < size; end++) {
    const byte = record.getUint8(offset + end);
    if (byte === 0) return text;
    if (byte >= 0x80) break;
    text += String.fromCharCode(byte);
  }
  while (end < size && record.getUint8(offset + end) !== 0) end++;
  return decodeKeepingBytes(new Uint8Array(record.buffer, record.byteOffset + offset, end));
}

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
