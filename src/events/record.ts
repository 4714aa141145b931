/**
 * Field readers shared by the event decoders (gen/<tool>.ts and
 * src/events/): records arrive as a DataView over the ring buffer.
 *
 * @module
 */
const AF_INET = 2;
const AF_INET6 = 10;
const utf8 = new TextDecoder(); // replaces invalid bytes with U+FFFD, as bcc does

/** A C string in a fixed array (a task comm): the bytes up to the first NUL (at most `size`). */
export function readCString(record: DataView, offset: number, size: number): string {
  let end = 0;
  while (end < size && record.getUint8(offset + end) !== 0) end++;
  return utf8.decode(new Uint8Array(record.buffer, record.byteOffset + offset, end));
}

/** The IP version (4 or 6) of an address family, or 0 for anything else. */
export function ipVersion(family: number): 0 | 4 | 6 {
  return family === AF_INET ? 4 : family === AF_INET6 ? 6 : 0;
}
