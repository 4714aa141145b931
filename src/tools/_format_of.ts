/**
 * For the tools' format tests: a tool's header and lines for a command line,
 * as `tcptools <tool> <argv>` would print them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TimeColumns } from "../output/time_columns.ts";
import { type AnyTool, parseOptions } from "./tool.ts";

/** The format `argv` selects; `unixOffsetUs` sets the JSON clock. */
export function formatOf(tool: AnyTool, argv: string[], unixOffsetUs = 0) {
  const { format } = tool.output(parseOptions(tool, argv), new TimeColumns(unixOffsetUs));
  return {
    header: (): string[] => format.header(),
    line: (event: unknown): string => format.line(event)!,
  };
}

/**
 * Asserts what `tcptools <tool> <argv>` prints for one event: its header
 * lines, then the event's line, written one under the other as on a terminal.
 */
export function assertPrints(tool: AnyTool, argv: string[], event: unknown, lines: string[]) {
  const format = formatOf(tool, argv);
  assert.deepEqual([...format.header(), format.line(event)], lines);
}
