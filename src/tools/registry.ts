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
import type { AnyTool } from "./tool.ts";

/** Every tool. */
export const TOOLS: readonly AnyTool[] = [accept, connect, connlat, life];

/** The tool named `name`, if there is one. */
export function findTool(name: string): AnyTool | undefined {
  return TOOLS.find((tool) => tool.name === name);
}
