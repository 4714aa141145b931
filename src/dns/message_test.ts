import assert from "node:assert/strict";
import { parseDnsResponse } from "./message.ts";

/** A name in wire form: length-prefixed labels and the root's zero. */
function wire(name: string): number[] {
  return [...name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]), 0];
}

const u16 = (n: number) => [n >> 8, n & 0xff];

/** How a header differs from a plain response's: its flags and question count. */
interface HeaderOptions {
  flags?: number;
  questions?: number;
}

/** A header: ID, flags (default QR, RD, RA), questions (default 1), `answers`, no other records. */
function header(answers: number, options: HeaderOptions = {}): number[] {
  return [
    ...u16(0x1234),
    ...u16(options.flags ?? 0x8180),
    ...u16(options.questions ?? 1),
    ...u16(answers),
    ...u16(0),
    ...u16(0),
  ];
}

/**
 * A response: header, one question of type A for `name` (text, or already in
 * wire form), then `answers` (already encoded); `count` announces another
 * number of answers than there are.
 */
function response(
  name: string | number[],
  answers: number[][],
  options: HeaderOptions & { count?: number } = {},
): Uint8Array {
  return new Uint8Array([
    ...header(options.count ?? answers.length, options),
    ...(typeof name === "string" ? wire(name) : name),
    ...u16(1),
    ...u16(1),
    ...answers.flat(),
  ]);
}

/** An answer record owned by the question's name (compression pointer to offset 12). */
function record(type: number, data: number[], owner = [0xc0, 12]): number[] {
  return [...owner, ...u16(type), ...u16(1), 0, 0, 0, 60, ...u16(data.length), ...data];
}

const A = (...b: number[]) => record(1, b);
const AAAA = (...b: number[]) => record(28, b);
const v6 = [0xfd, 0, ...Array(13).fill(0), 4];

Deno.test("a response gives its question's name for each A and AAAA answer", () => {
  const cname = record(5, wire("cdn.example.net"));
  const parsed = parseDnsResponse(response("www.tt.test", [cname, A(10, 9, 9, 4), AAAA(...v6)]));
  assert.equal(parsed?.name, "www.tt.test");
  assert.deepEqual(parsed?.addresses.map((a) => [a.ip, [...a.bytes]]), [[4, [10, 9, 9, 4]], [
    6,
    v6,
  ]]);
});

Deno.test("queries, several questions, and answerless non-authoritative responses are not used", () => {
  assert.equal(parseDnsResponse(response("a.test", [A(1, 2, 3, 4)], { flags: 0x0100 })), undefined);
  assert.equal(parseDnsResponse(response("a.test", [A(1, 2, 3, 4)], { questions: 2 })), undefined);
  assert.equal(parseDnsResponse(response("a.test", [])), undefined);
  // AA without answers: used (bcc's rule), with no addresses.
  assert.deepEqual(parseDnsResponse(response("a.test", [], { flags: 0x8580 })), {
    name: "a.test",
    addresses: [],
  });
});

Deno.test("hostile messages end the reading without an error", () => {
  const good = response("a.test", [A(1, 2, 3, 4)]);
  for (let n = 0; n < good.length; n++) {
    const cut = parseDnsResponse(good.subarray(0, n));
    // Cut inside the question: nothing; inside the answer: no address yet.
    assert.ok(cut === undefined || cut.addresses.length === 0, `${n} bytes`);
  }
  // A pointer to itself, and one forwards: a loop would never end.
  const self = response("a.test", [record(1, [1, 2, 3, 4], [0xc0, 24])]);
  assert.deepEqual(parseDnsResponse(self)?.addresses, []);
  const loop = new Uint8Array([...header(1), 0xc0, 12]);
  assert.equal(parseDnsResponse(loop), undefined);
  // More answers announced than present, and an oversized RDLENGTH.
  assert.equal(
    parseDnsResponse(response("a.test", [A(1, 2, 3, 4)], { count: 500 }))?.addresses.length,
    1,
  );
  const long = response("a.test", [[0xc0, 12, ...u16(1), ...u16(1), 0, 0, 0, 60, 0xff, 0xff, 1]]);
  assert.deepEqual(parseDnsResponse(long)?.addresses, []);
  // A names longer than 255 octets, and the unused label types.
  const huge = response([...Array(5).fill([63, ...Array(63).fill(97)]).flat(), 0], [], {
    count: 1,
  });
  assert.equal(parseDnsResponse(huge), undefined);
  assert.equal(
    parseDnsResponse(response("a.test", [A(1, 2, 3, 4)]).map((b, i) => i === 12 ? 0x41 : b)),
    undefined,
  );
  // A, AAAA with the wrong length are skipped.
  assert.deepEqual(
    parseDnsResponse(response("a.test", [record(1, [1, 2, 3]), record(28, [1])]))?.addresses,
    [],
  );
});

Deno.test("label bytes outside printable ASCII, dots and backslashes are escaped", () => {
  const name = [3, 0x61, 0x2e, 0x5c, 2, 0x00, 0xff, 0];
  const message = response(name, [A(1, 2, 3, 4)]);
  assert.equal(parseDnsResponse(message)?.name, "a\\.\\\\.\\000\\255");
});

Deno.test('a response for the root name gives the name ".", not an empty one', () => {
  const parsed = parseDnsResponse(response([0], [A(10, 9, 9, 6)]));
  assert.equal(parsed?.name, ".");
  assert.deepEqual(parsed?.addresses, [{ ip: 4, bytes: new Uint8Array([10, 9, 9, 6]) }]);
});
