/**
 * Field readers shared by the event decoders. Records arrive as a DataView
 * over the ring buffer; integers are little-endian (x86-64), addresses are
 * network-order bytes.
 *
 * @module
 */
import { formatAddress } from "./address.ts";

const AF_INET = 2;
const AF_INET6 = 10;
const utf8 = new TextDecoder(); // replaces invalid bytes with U+FFFD, as bcc does

/** Layout of an event struct: its size and each member's offset and size. */
export interface StructLayout {
  size: number;
  members: Record<string, { offset: number; size: number }>;
}

/** Throws unless the record is at least as long as the struct. */
export function requireSize(record: DataView, layout: StructLayout, name: string): void {
  if (record.byteLength < layout.size) {
    throw new RangeError(
      `decode ${name}: record has ${record.byteLength} bytes, needs ${layout.size}`,
    );
  }
}

/** A task comm: the bytes up to the first NUL (at most `size`). */
export function readComm(record: DataView, offset: number, size: number): string {
  let end = 0;
  while (end < size && record.getUint8(offset + end) !== 0) end++;
  return utf8.decode(new Uint8Array(record.buffer, record.byteOffset + offset, end));
}

/** The IP version (4 or 6) of an address family, or 0 for anything else. */
export function ipVersion(family: number): 0 | 4 | 6 {
  return family === AF_INET ? 4 : family === AF_INET6 ? 6 : 0;
}

/** An address of the given IP version stored at `offset` (16 bytes reserved). */
export function readAddress(record: DataView, offset: number, version: 4 | 6): string {
  return formatAddress(new Uint8Array(record.buffer, record.byteOffset + offset, 16), version);
}

/** A u64 field as a number (exact up to 2^53, far beyond byte counts and µs clocks). */
export function readU64(record: DataView, offset: number): number {
  return Number(record.getBigUint64(offset, true));
}
