import assert from "node:assert/strict";
import { fixed } from "./printf.ts";

/**
 * Reference `%.<digits>f`: decomposes the double into `mantissa * 2^exponent`
 * and rounds that exact value half-to-even with BigInt arithmetic.
 */
function referenceFixed(value: number, digits: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const negative = (bits >> 63n) === 1n;
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  if (biasedExponent === 0x7ff) throw new Error("reference handles finite values only");
  const mantissa = biasedExponent === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biasedExponent === 0 ? 1 : biasedExponent) - 1075;
  // Exact value * 10^digits = numerator / denominator.
  let numerator = mantissa * 10n ** BigInt(digits);
  let denominator = 1n;
  if (exponent >= 0) numerator <<= BigInt(exponent);
  else denominator <<= BigInt(-exponent);
  let quotient = numerator / denominator;
  const twiceRemainder = 2n * (numerator % denominator);
  if (
    twiceRemainder > denominator ||
    (twiceRemainder === denominator && (quotient & 1n) === 1n)
  ) {
    quotient += 1n;
  }
  let text = quotient.toString().padStart(digits + 1, "0");
  if (digits > 0) text = text.slice(0, -digits) + "." + text.slice(-digits);
  return (negative ? "-" : "") + text;
}

Deno.test("exact ties round to even like printf, unlike toFixed", () => {
  assert.equal((1.125).toFixed(2), "1.13");
  assert.equal(fixed(1.125, 2), "1.12");
  assert.equal(fixed(1.375, 2), "1.38");
  assert.equal(fixed(0.0625, 3), "0.062");
  assert.equal(fixed(0.1875, 3), "0.188");
  assert.equal(fixed(2.5, 0), "2");
  assert.equal(fixed(3.5, 0), "4");
  assert.equal(fixed(0.5, 0), "0");
  assert.equal(fixed(1.5, 0), "2");
  assert.equal(fixed(0.125, 2), "0.12");
  assert.equal(fixed(0.875, 2), "0.88");
  assert.equal(fixed(9.995, 2), "9.99"); // below the tie as a double
  assert.equal(fixed(9.875, 2), "9.88");
  assert.equal(fixed(99.5, 0), "100");
  assert.equal(fixed(0.9375, 3), "0.938");
});

Deno.test("ties whose rounding up carries across digits still round correctly", () => {
  assert.equal(fixed(9.5, 0), "10");
  assert.equal(fixed(99.875, 2), "99.88");
  assert.equal(fixed(0.9921875, 6), "0.992188"); // 127/128 ends in ...875
  assert.equal(fixed(0.0078125, 6), "0.007812"); // 1/128 ends in ...125
  assert.equal(fixed(1.0000005, 6), referenceFixed(1.0000005, 6));
});

Deno.test("decimal-looking ties that are not exact in binary round by their true value", () => {
  assert.equal(fixed(1.005, 2), "1.00");
  assert.equal(fixed(1.005, 2), (1.005).toFixed(2));
  assert.equal(fixed(1.015, 2), "1.01");
  assert.equal(fixed(1.025, 2), "1.02");
  assert.equal(fixed(0.0005, 3), "0.001");
  assert.equal(fixed(2.675, 2), "2.67");
  assert.equal(fixed(0.000_000_5, 6), "0.000000");
  assert.equal(fixed(0.000_001_5, 6), "0.000002");
});

Deno.test("negative values keep their sign, including ones that round to zero", () => {
  assert.equal(fixed(-0.0625, 3), "-0.062");
  assert.equal(fixed(-1.125, 2), "-1.12");
  assert.equal(fixed(-2.5, 0), "-2");
  assert.equal(fixed(-3.5, 0), "-4");
  assert.equal(fixed(-0.0001, 2), "-0.00");
  assert.equal(fixed(-0, 2), "-0.00");
  assert.equal(fixed(-12.3456, 3), "-12.346");
});

Deno.test("zero prints with the requested number of digits", () => {
  assert.equal(fixed(0, 0), "0");
  assert.equal(fixed(0, 2), "0.00");
  assert.equal(fixed(0, 3), "0.000");
  assert.equal(fixed(0, 6), "0.000000");
});

Deno.test("values with many digits are rounded from their exact binary value", () => {
  assert.equal(fixed(Math.PI, 2), "3.14");
  assert.equal(fixed(Math.PI, 6), "3.141593");
  assert.equal(fixed(Math.E, 3), "2.718");
  assert.equal(fixed(0.1, 20), "0.10000000000000000555");
  assert.equal(fixed(1 / 3, 6), "0.333333");
  assert.equal(fixed(2 / 3, 2), "0.67");
  assert.equal(fixed(123.456789, 3), "123.457");
  assert.equal(fixed(0.000001, 6), "0.000001");
  assert.equal(fixed(0.0000014999, 6), "0.000001");
  for (const value of [Math.PI, Math.E, 0.1, 1 / 3, 1e-6, 1.1e-6, 0.3]) {
    for (const digits of [0, 2, 3, 6, 10, 30]) {
      assert.equal(fixed(value, digits), referenceFixed(value, digits), `${value} %.${digits}f`);
    }
  }
});

Deno.test("large values print every integer digit", () => {
  assert.equal(fixed(123456789012.345, 2), "123456789012.35");
  assert.equal(fixed(999999999999999, 2), "999999999999999.00");
  assert.equal(fixed(1e15 - 0.125, 2), "999999999999999.88");
  assert.equal(fixed(1e15 - 0.375, 2), "999999999999999.62");
  assert.equal(fixed(2 ** 52 + 0.5, 0), "4503599627370496");
  assert.equal(fixed(2 ** 52 + 1.5, 0), "4503599627370498");
  assert.equal(fixed(1e21, 2), "1000000000000000000000.00");
  assert.equal(fixed(2 ** 80, 0), "1208925819614629174706176");
  assert.equal(fixed(1e300, 1), referenceFixed(1e300, 1));
});

Deno.test("non-finite values print like C", () => {
  assert.equal(fixed(NaN, 2), "nan");
  assert.equal(fixed(Infinity, 2), "inf");
  assert.equal(fixed(-Infinity, 2), "-inf");
});

Deno.test("invalid digit counts are rejected", () => {
  assert.throws(() => fixed(1, -1), RangeError);
  assert.throws(() => fixed(1, 100), RangeError);
  assert.throws(() => fixed(1, 1.5), RangeError);
});

Deno.test("random millisecond and second quotients match the exact BigInt reference", () => {
  for (let i = 0; i < 20000; i++) {
    const n = Math.floor(Math.random() * 1e7);
    for (
      const [value, digits] of [[n / 1000, 2], [n / 1e6, 6], [n / 1000, 3], [n / 1e6, 2]]
    ) {
      assert.equal(fixed(value, digits), referenceFixed(value, digits), `${n}: ${value}`);
    }
  }
});

Deno.test("every small millisecond quotient matches the reference", () => {
  for (let n = 0; n < 100000; n++) {
    const value = n / 1000;
    assert.equal(fixed(value, 2), referenceFixed(value, 2), `${n}`);
  }
});

Deno.test("random dyadic values, where ties are common, match the reference", () => {
  for (let i = 0; i < 20000; i++) {
    const bits = Math.floor(Math.random() * 12);
    const value = Math.floor(Math.random() * 2 ** 30) / 2 ** bits;
    const signed = Math.random() < 0.5 ? -value : value;
    for (const digits of [0, 1, 2, 3, 6]) {
      assert.equal(fixed(signed, digits), referenceFixed(signed, digits), `${signed}`);
    }
  }
});

Deno.test("random doubles of any magnitude in range match the reference", () => {
  for (let i = 0; i < 5000; i++) {
    const value = Math.random() * 10 ** (Math.floor(Math.random() * 21) - 6);
    for (const digits of [2, 3, 6]) {
      assert.equal(fixed(value, digits), referenceFixed(value, digits), `${value}`);
    }
  }
});
