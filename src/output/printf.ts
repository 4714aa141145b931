/**
 * C `printf`-compatible number formatting.
 *
 * @module
 */

/** `2 ** (digits + 1)` for every `digits` that {@link fixed} accepts. */
const TIE_SCALE: readonly number[] = Array.from({ length: 100 }, (_, d) => 2 ** (d + 1));

/** Code of the character `"5"`. */
const CHAR_5 = 53;

/**
 * Formats `value` exactly as C `printf("%.<digits>f", value)` (and Python's
 * `"%.<digits>f" % value`) does.
 *
 * Why this exists: bcc's Python tools (tcplife, tcpconnlat, ...) print
 * latencies and durations as `us / 1000` or `ns / 1000000` through `%.2f`,
 * `%.3f` or `%.6f`. printf rounds the exact binary value of the double and
 * breaks exact ties to even, while `Number.prototype.toFixed` breaks exact
 * ties upwards (away from zero). Such ties do occur: 1125 µs / 1000 is 1.125,
 * which is exactly 9/8 as a double, so `(1.125).toFixed(2)` is `"1.13"` while
 * printf gives `"1.12"`; likewise `0.0625` at 3 digits (`"0.063"` versus
 * `"0.062"`) and `2.5` at 0 digits (`"3"` versus `"2"`). Values that only look
 * like ties in decimal, such as `1.005` (stored slightly below), round the same
 * either way.
 *
 * How: a tie at `digits` places means `|value| * 10^digits` is an odd
 * multiple of 1/2, which requires `|value| * 2^(digits+1)` to be an integer
 * (10^digits = 2^digits * 5^digits). That test is exact and cheap, so
 * `toFixed` is used directly in all other cases; only dyadic values with few
 * fractional bits get the extra look at their (then exact) expansion to
 * `digits + 1` places.
 *
 * The sign is kept as C does: `fixed(-0.0001, 2)` and `fixed(-0, 2)` are
 * `"-0.00"`. Non-finite values print as C does: `nan`, `inf`, `-inf`.
 *
 * @param value The number to format.
 * @param digits Digits after the decimal point, an integer from 0 to 99.
 * @returns The formatted number.
 */
export function fixed(value: number, digits: number): string {
  const scale = TIE_SCALE[digits];
  if (scale === undefined) {
    throw new RangeError(`fixed: digits must be an integer from 0 to 99, got ${digits}`);
  }
  if (value > 0) return fixedAbs(value, digits, scale);
  if (value < 0) return "-" + fixedAbs(-value, digits, scale);
  if (value === 0) {
    const zero = (0).toFixed(digits);
    return Object.is(value, -0) ? "-" + zero : zero;
  }
  return "nan";
}

/** {@link fixed} for a positive `x`; `scale` is `2 ** (digits + 1)`. */
function fixedAbs(x: number, digits: number, scale: number): string {
  if (x >= 1e21) {
    // toFixed switches to exponential notation here; such doubles are integers.
    if (x === Infinity) return "inf";
    const integer = BigInt(x).toString();
    return digits === 0 ? integer : integer + "." + "0".repeat(digits);
  }
  const rounded = x.toFixed(digits);
  // Multiplying by a power of two is exact, so this is an exact test.
  if (!Number.isInteger(x * scale)) return rounded;
  // x has at most digits+1 fractional bits, hence at most digits+1 fractional
  // decimal digits: this expansion is exact.
  const longer = x.toFixed(digits + 1);
  if (longer.charCodeAt(longer.length - 1) !== CHAR_5) return rounded;
  // An exact tie: toFixed rounded up; round to even instead.
  const truncated = longer.slice(0, digits === 0 ? -2 : -1);
  return (truncated.charCodeAt(truncated.length - 1) & 1) === 0 ? truncated : rounded;
}
