import assert from "node:assert/strict";
import { readCString } from "../c_string.ts";
import { commColumn, commLabel, csvField, printable } from "./comm.ts";

Deno.test("printable names come out as bcc prints them, padded to the width", () => {
  assert.equal(commColumn("tt-client", 12, "bytes"), "tt-client   ");
  assert.equal(commColumn("tt-client", 10, "characters"), "tt-client ");
  assert.equal(commColumn("a-very-long-nam", 10, "characters"), "a-very-lon");
  assert.equal(commColumn("back\\slash", 12, "bytes"), "back\\slash  ");
});

Deno.test("tcpaccept and tcpconnect widths count bytes, tcplife and tcpconnlat characters", () => {
  // 11 characters, 15 bytes: bcc's %-12.12s over the bytes keeps 9 characters.
  assert.equal(commColumn("cli ünïcödé", 12, "bytes"), "cli ünïcö");
  assert.equal(commColumn("cli ünïcödé", 12, "characters"), "cli ünïcödé ");
  // Python pads by code points; an astral character is one.
  assert.equal(commColumn("😀x", 10, "characters"), "😀x" + " ".repeat(8));
  assert.equal(commColumn("😀x", 12, "bytes"), "😀x" + " ".repeat(7));
});

Deno.test("a character that would be split at the width is left out and padded instead", () => {
  assert.equal(commColumn("abcdefghijkü", 12, "bytes"), "abcdefghijk ");
  assert.equal(commColumn("abcdefghij€", 12, "bytes"), "abcdefghij  ");
});

Deno.test("unprintable characters are escaped as \\xHH per UTF-8 byte", () => {
  assert.equal(printable("a\nb"), "a\\x0ab");
  assert.equal(printable("\x1b[2J"), "\\x1b[2J");
  assert.equal(printable("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
  assert.equal(printable("ok\rfake"), "ok\\x0dfake");
  assert.equal(printable("\x7f\t"), "\\x7f\\x09");
  assert.equal(printable("\u009b2J"), "\\xc2\\x9b2J"); // C1 CSI
  assert.equal(printable("abc\u202etxt"), "abc\\xe2\\x80\\xaetxt"); // right-to-left override
  assert.equal(printable("a\u2028b"), "a\\xe2\\x80\\xa8b");
  assert.equal(printable("ünïcödé \ufffd"), "ünïcödé \ufffd");
});

Deno.test("the column escapes what it keeps and pads the escaped text", () => {
  assert.equal(commColumn("a\nb", 12, "bytes"), "a\\x0ab      ");
  assert.equal(commColumn("\x1b[2J\x1b[H", 10, "characters"), "\\x1b[2J\\x1b[H");
  // The width cuts the raw name, before escaping (bcc's choice of characters).
  assert.equal(commColumn("0123456789\n", 10, "characters"), "0123456789");
});

Deno.test("CSV fields are quoted as RFC 4180 writes them where needed", () => {
  assert.equal(csvField("tt-client"), "tt-client");
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
});

/** A comm field of 16 bytes holding `bytes`, NUL-padded, read as the decoders read it. */
function commOf(bytes: number[]): string {
  const field = new Uint8Array(16);
  field.set(bytes);
  return readCString(new DataView(field.buffer), 0, 16);
}

Deno.test("bytes that are not UTF-8 stay distinct and are shown as \\xHH, each counted as one byte", () => {
  const names = [0xff, 0xfe, 0xfd].map((b) => commOf([0x64, b, 0x58]));
  assert.equal(new Set(names).size, 3);
  assert.deepEqual(names.map(printable), ["d\\xffX", "d\\xfeX", "d\\xfdX"]);
  // A cut-short sequence and a stray continuation byte, around valid characters.
  assert.equal(printable(commOf([0xc3, 0xbc, 0xe2, 0x80, 0x41, 0x80])), "ü\\xe2\\x80A\\x80");
  // An encoded U+FFFD is a character, not a byte that was not UTF-8.
  assert.equal(printable(commOf([0xef, 0xbf, 0xbd])), "\ufffd");
  assert.equal(commColumn(commOf([0x61, 0xff, 0x62]), 2, "bytes"), "a\\xff");
  assert.equal(commColumn(commOf([0x61, 0xff, 0x62]), 3, "characters"), "a\\xffb");
});

Deno.test("a label value escapes a backslash too, so an escape's text and its byte differ", () => {
  assert.equal(commLabel(commOf([0x64, 0xff])), "d\\xff");
  assert.equal(commLabel("d\\xff"), "d\\x5cxff");
  assert.equal(commLabel("\x1b[2J\u202e"), "\\x1b[2J\\xe2\\x80\\xae");
});
