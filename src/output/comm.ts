/**
 * The COMM column. A task's name is set by its owner (`prctl(PR_SET_NAME)`,
 * /proc/self/comm), so in a root tool's text output it is hostile input: a
 * newline would forge lines, an escape sequence would drive the terminal, a
 * comma would add CSV columns. Every character that is not printable is
 * shown as `\xHH`, one per UTF-8 byte (as systemd and strace show them), and
 * so is each byte that is not UTF-8 (src/c_string.ts keeps those as lone
 * surrogates); printable names come out exactly as bcc prints them. `--json`
 * needs none of this: JSON.stringify escapes control characters itself.
 *
 * @module
 */
import { RAW_BYTE_BASE } from "../c_string.ts";

/**
 * How a bcc tool measures its `%-N.Ns` COMM column: tcpaccept and tcpconnect
 * format the raw bytes, tcplife and tcpconnlat the decoded text (code points).
 */
export type CommUnit = "bytes" | "characters";

/**
 * Controls (C0, DEL, C1), format characters (bidirectional overrides,
 * zero-width ones) and the line and paragraph separators: what a terminal
 * acts on or a reader cannot see.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** A byte that is not UTF-8, as c_string.ts keeps it: U+DC80 to U+DCFF. */
function rawByte(c: string): number | undefined {
  const code = c.charCodeAt(0);
  return c.length === 1 && code >= RAW_BYTE_BASE + 0x80 && code <= RAW_BYTE_BASE + 0xff
    ? code - RAW_BYTE_BASE
    : undefined;
}

function hex(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const encoder = new TextEncoder();

function measure(text: string, unit: CommUnit): number {
  if (unit === "characters") return [...text].length;
  let bytes = 0;
  for (const c of text) {
    const code = c.codePointAt(0)!;
    bytes += code < 0x80 || rawByte(c) !== undefined
      ? 1
      : code < 0x800
      ? 2
      : code < 0x10000
      ? 3
      : 4;
  }
  return bytes;
}

function escape(c: string): string {
  const raw = rawByte(c);
  if (raw !== undefined) return hex(raw);
  if (!UNPRINTABLE.test(c)) return c;
  return [...encoder.encode(c)].map(hex).join("");
}

/** Every unprintable character of `comm` as `\xHH` escapes. */
export function printable(comm: string): string {
  let text = "";
  for (const c of comm) text += escape(c);
  return text;
}

/**
 * A COMM as a metrics label value: printable as in the text formats, and
 * with a backslash shown as `\x5c` too, so that a name that holds the text
 * of an escape (`dup\xffX`) and the name with that byte are two label sets,
 * not one series twice.
 */
export function commLabel(comm: string): string {
  return printable(comm.replaceAll("\\", "\\x5c"));
}

/**
 * `%-width.widths` over `comm`: the longest head of the name that fits in
 * `width` units, never a split character (the rest is padding instead, where
 * bcc would print part of a UTF-8 sequence), escaped, then padded to `width`
 * units. An escaped name is wider than the raw one and pushes the next
 * columns right, as any long value does.
 */
export function commColumn(comm: string, width: number, unit: CommUnit): string {
  // Most names are printable ASCII, where a byte is a character and nothing is escaped.
  if (PRINTABLE_ASCII.test(comm)) return comm.slice(0, width).padEnd(width);
  let head = "";
  let used = 0;
  for (const c of comm) {
    const size = measure(c, unit);
    if (used + size > width) break;
    head += c;
    used += size;
  }
  const shown = printable(head);
  return shown + " ".repeat(Math.max(0, width - measure(shown, unit)));
}

/** A CSV field as RFC 4180 writes it: quoted, quotes doubled, where it holds `,`, `"` or a line end. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
