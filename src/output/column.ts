/**
 * A column, as a tool declares it once for its header and its lines: the
 * writers (format.ts) print it, and the shared time columns
 * (time_columns.ts) are made of it.
 *
 * @module
 */
import type { CommUnit } from "./comm.ts";

/** One column of a text or CSV format. */
export interface Column<E> {
  /** Header text. */
  header: string;
  /** The field's text, before padding. */
  value(event: E): string | number;
  /** Minimum width (`%-Ns`, or `%Ns` when right-aligned); 0: as long as the value. */
  width?: number;
  align?: "left" | "right";
  /** The COMM column: escaped and cut to `width` in this unit. */
  comm?: CommUnit;
  /** What follows the column when another one does (default one space). */
  gap?: string;
  /** Printed in lines only, not in the header (bcc's empty DNS column of tcpconnect). */
  lineOnly?: boolean;
}
