/**
 * For the tools' format tests: a tool's header and lines for a command line,
 * as `tcptools <tool> <argv>` would print them.
 *
 * @module
 */
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
