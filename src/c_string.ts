/**
 * Reading a C string out of a record's fixed char array (a task comm), the
 * one field reader the generated decoders (gen/<tool>.ts) call. It imports
 * nothing of the project: generated code sits below every folder of src/,
 * so what it imports must sit below it too (scripts/check_layers.ts).
 *
 * @module
 */
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
