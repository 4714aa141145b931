/**
 * Text forms of IP addresses, identical to glibc's `inet_ntop`.
 *
 * @module
 */

/** The eight 16-bit groups of the IPv6 address being formatted (reused). */
const groups = new Uint16Array(8);

/**
 * Formats an IP address as glibc's `inet_ntop` does (and so as bcc's tools,
 * which use Python's `inet_ntop`, print it).
 *
 * IPv4 is a dotted quad. IPv6 uses lowercase hex without leading zeros; the
 * longest run of two or more zero groups (the first of equally long runs)
 * becomes `::`; an address whose first six groups are zero and whose seventh
 * is not (`::a.b.c.d`), or whose first five are zero and whose sixth is
 * `ffff` (`::ffff:a.b.c.d`), ends in a dotted quad.
 *
 * @param bytes The address in network byte order; only the first 4 (IPv4) or
 *   16 (IPv6) bytes are read.
 * @param family 4 for IPv4, 6 for IPv6.
 * @returns The address text, such as `10.0.0.1` or `fe80::1`.
 */
export function formatAddress(bytes: Uint8Array, family: 4 | 6): string {
  if (family === 4) {
    if (bytes.length < 4) {
      throw new RangeError(`formatAddress: an IPv4 address needs 4 bytes, got ${bytes.length}`);
    }
    return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  }
  if (bytes.length < 16) {
    throw new RangeError(`formatAddress: an IPv6 address needs 16 bytes, got ${bytes.length}`);
  }

  // Find the longest run of zero groups; the first one wins ties.
  let bestBase = -1;
  let bestLength = 0;
  let runBase = -1;
  for (let i = 0; i < 8; i++) {
    const group = (bytes[2 * i] << 8) | bytes[2 * i + 1];
    groups[i] = group;
    if (group === 0) {
      if (runBase < 0) runBase = i;
      if (i - runBase + 1 > bestLength) {
        bestBase = runBase;
        bestLength = i - runBase + 1;
      }
    } else {
      runBase = -1;
    }
  }
  if (bestLength < 2) bestBase = -1;

  // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses.
  if (bestBase === 0) {
    if (bestLength === 6) {
      return `::${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
    }
    if (bestLength === 5 && groups[5] === 0xffff) {
      return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
    }
  }

  let text = "";
  const bestEnd = bestBase + bestLength;
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      text += "::";
      i = bestEnd - 1;
      continue;
    }
    if (i !== 0 && i !== bestEnd) text += ":";
    text += groups[i].toString(16);
  }
  return text;
}
