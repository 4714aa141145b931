/**
 * The writers every tool's output goes through. A tool declares its columns
 * once per format (a header, a width, an alignment and how to get the value
 * from an event), and the same list prints the header and every line, so the
 * two cannot disagree. The writers know no tool.
 *
 * Widths are printf's: `%-Ns` pads to at least N and never cuts; a longer
 * value pushes the rest of the line right. Only COMM is cut (`%-N.Ns`), in
 * the unit of the tool's bcc original, and escaped (comm.ts).
 *
 * @module
 */
import { identityFields } from "../events/identity.ts";
import type { ConnectionEvent, LocalConnection } from "../events/record.ts";
import { commColumn, csvField, printable } from "./comm.ts";
import type { TimeColumns } from "./time_columns.ts";
import type { Column } from "./column.ts";

export type { Column };

/** The lines a tool prints: its header (possibly none), then one line per event. */
export interface Format<E> {
  header(): string[];
  /** One event's line, or undefined to print nothing for it. */
  line(event: E): string | undefined;
}

function pad<E>(column: Column<E>, text: string): string {
  const width = column.width ?? 0;
  return column.align === "right" ? text.padStart(width) : text.padEnd(width);
}

/** A column's text for an event, padded (or, for COMM, escaped and cut) to its width. */
function cellOf<E>(column: Column<E>): (event: E) => string {
  const { value, comm } = column;
  const width = column.width ?? 0;
  if (comm) return (event) => commColumn(String(value(event)), width, comm);
  if (column.align === "right") return (event) => String(value(event)).padStart(width);
  return (event) => String(value(event)).padEnd(width);
}

/** What follows each column in a line of `columns`: its gap, except after the last. */
function gapsOf<E>(columns: Column<E>[]): string[] {
  return columns.map((column, i) => i < columns.length - 1 ? column.gap ?? " " : "");
}

/** Aligned text columns, with lines printed before the header (a banner) if any. */
export function textFormat<E>(columns: Column<E>[], banner: string[] = []): Format<E> {
  const shown = columns.filter((column) => !column.lineOnly);
  const shownGaps = gapsOf(shown);
  // Per line, only the cells are computed: widths, alignment and gaps are settled here.
  const cells = columns.map(cellOf);
  const gaps = gapsOf(columns);
  return {
    header: () => [...banner, shown.map((c, i) => pad(c, c.header) + shownGaps[i]).join("")],
    line: (event) => {
      let line = "";
      for (let i = 0; i < cells.length; i++) line += cells[i](event) + gaps[i];
      return line;
    },
  };
}

/** Comma-separated values; fields that need it are quoted (RFC 4180), COMM escaped. */
export function csvFormat<E>(columns: Column<E>[]): Format<E> {
  return {
    header: () => [columns.map((column) => column.header).join(",")],
    line: (event) =>
      columns.map((column) => {
        const value = String(column.value(event));
        return csvField(column.comm ? printable(value) : value);
      }).join(","),
  };
}

/**
 * A string as JSON carries it: a byte of a name that is not UTF-8 (a lone
 * surrogate, src/c_string.ts) as U+FFFD, as bcc shows it, so the output
 * stays strict UTF-8 (JSON.stringify would write `\udcff`, which strict
 * parsers refuse).
 */
function wellFormed(_key: string, value: unknown): unknown {
  return typeof value === "string" ? value.toWellFormed() : value;
}

/** One JSON object per event and no header; `fields` gives the object, keys in order. */
export function jsonFormat<E>(fields: (event: E) => Record<string, unknown>): Format<E> {
  return {
    header: () => [],
    line: (event) => {
      const line = JSON.stringify(fields(event));
      // Only such a string is written with a "\udc" escape: most lines need no second pass.
      return line.includes("\\udc") ? JSON.stringify(fields(event), wellFormed) : line;
    },
  };
}

/** The JSON fields of the process and both ends of a connection, in the order every tool uses. */
function connectionFields(e: LocalConnection): Record<string, unknown> {
  return {
    pid: e.pid,
    comm: e.comm,
    ip: e.ip,
    laddr: e.laddr,
    lport: e.lport,
    raddr: e.raddr,
    rport: e.rport,
  };
}

/**
 * The JSON format of a tool whose events are a {@linkcode ConnectionEvent}, in
 * the order every tool uses: the event's time, the process and both ends, the
 * tool's own `fields`, then who the event belongs to.
 */
export function connectionJson<E extends ConnectionEvent>(
  clock: TimeColumns,
  fields: (event: E) => Record<string, unknown>,
): Format<E> {
  return jsonFormat((e) => ({
    time: clock.isoTime(e.tsUs),
    ...connectionFields(e),
    ...fields(e),
    ...identityFields(e),
  }));
}
