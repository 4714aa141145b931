/**
 * printf-style column helpers for the bcc format strings: `%-Ns` pads on the
 * right to at least N, `%Ns` on the left, `%-N.Ms` also cuts to M characters.
 * Longer values are never cut by a width alone; they push later columns right.
 *
 * @module
 */

/** `%-Ns`. */
export function left(value: string | number, width: number): string {
  return String(value).padEnd(width);
}

/** `%Ns`. */
export function right(value: string | number, width: number): string {
  return String(value).padStart(width);
}

/** At most `max` characters (code points, as Python slices). */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  return [...value].slice(0, max).join("");
}
