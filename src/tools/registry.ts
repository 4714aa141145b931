/**
 * The tools, in the order `tcptools --help` lists them. Dispatch, help, and
 * every test and script that covers all tools read this list.
 *
 * @module
 */
import { accept } from "./accept.ts";
import { connect } from "./connect.ts";
import { connlat } from "./connlat.ts";
import { life } from "./life.ts";
import { metrics } from "./metrics.ts";
import type { CommandParser } from "../cli/parser.ts";
import { type AnyTool, parserOf, runTool } from "./tool.ts";

/** Every line-per-event tool. */
export const TOOLS: readonly AnyTool[] = [accept, connect, connlat, life];

/** The tool named `name`, if there is one. */
export function findTool(name: string): AnyTool | undefined {
  return TOOLS.find((tool) => tool.name === name);
}

/** A subcommand: a line-per-event tool, or `metrics` (src/tools/metrics.ts). */
export interface Command {
  name: string;
  /** Its line in `tcptools --help`. */
  summary: string;
  /** The kernel it needs, named when loading or attaching fails (default: Linux 5.8+ with BTF). */
  kernel?: string;
  /** Runs it with `argv`; resolves to the exit status. */
  run(argv: string[]): Promise<number>;
  /** Its argument parser (for generated command lines in tests). */
  parser(): CommandParser;
}

/** Every subcommand, in the order `tcptools --help` lists them. */
export const COMMANDS: readonly Command[] = [
  ...TOOLS.map((tool) => ({
    ...tool,
    run: (argv: string[]) => runTool(tool, argv),
    parser: () => parserOf(tool),
  })),
  metrics,
];

/** The subcommand named `name`, if there is one. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
