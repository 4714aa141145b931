/**
 * printf-style column helpers for the bcc format strings: `%-Ns` pads on the
 * right to at least N, `%Ns` on the left (`%-N.Ms`, COMM's, is in comm.ts).
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
