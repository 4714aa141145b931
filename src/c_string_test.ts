import assert from "node:assert/strict";
import { RAW_BYTE_BASE, readCString } from "./c_string.ts";

function field(bytes: number[], size = 16): DataView {
  const buffer = new Uint8Array(size + 4);
  buffer.set(bytes, 2);
  return new DataView(buffer.buffer);
}

Deno.test("a C string is read up to its first NUL, at its offset", () => {
  assert.equal(readCString(field([...new TextEncoder().encode("curl"), 0, 0x41]), 2, 16), "curl");
});

Deno.test("a C string that fills its array ends with the array", () => {
  const full = new TextEncoder().encode("abcdefghijklmnopqr");
  assert.equal(readCString(field([...full], 18), 2, 16), "abcdefghijklmnop");
});

Deno.test("UTF-8 is decoded, and a byte that is not UTF-8 stays a lone surrogate", () => {
  assert.equal(readCString(field([0xc3, 0xa9, 0x78, 0]), 2, 16), "éx");
  assert.equal(
    readCString(field([0x64, 0xff, 0x58, 0]), 2, 16),
    `d${String.fromCharCode(RAW_BYTE_BASE + 0xff)}X`,
  );
});
