/**
 * What a tool is: one description that declares everything the generic
 * layers need (its flags, its BPF object and how flags become that object's
 * globals and filter maps, its columns), and the glue that runs one.
 * Adding a tool is bpf/<tool>.bpf.c + bpf/<tool>.h + one description + its
 * tests + one line in registry.ts.
 *
 * @module
 */
import type { ProgramGlobals } from "../../gen/assets.ts";
import type { BpfObject, ProgramName, ProgramOf } from "../bpf/object.ts";
import { monotonicToUnixOffsetUs } from "../bpf/kernel_clock.ts";
import {
  addHistogramFlags,
  addScopeFlags,
  type HistogramOptions,
  scopeExamples,
  type ScopeOptions,
} from "../cli/args.ts";
import { CommandParser } from "../cli/parser.ts";
import type { MapValues } from "../trace/attach.ts";
import type { CounterMessages } from "../trace/self_reports.ts";
import type { Format } from "../output/format.ts";
import { TimeColumns } from "../output/time_columns.ts";
import {
  checkHistogramOptions,
  histogramGlobals,
  type HistogramSpec,
  traceHistograms,
} from "../trace/histograms.ts";
import { trace } from "../trace/run.ts";

/**
 * Flags every tool has: `--ring-kb` (cli/args.ts's addRingFlag, in each
 * tool's flags), and the scope flags, which {@linkcode parserOf} adds.
 */
export interface CommonOptions extends Partial<ScopeOptions> {
  ring_kb: number;
}

/** How a tool prints, for the options given. */
export interface Output<E, P extends ProgramName> {
  format: Format<E>;
  /** Lines printed after tracing ends (e.g. a table read from a map). */
  summary?: (object: BpfObject<P>) => string[];
}

/** One tool, described once. */
export interface Tool<O extends CommonOptions, E, P extends ProgramName> {
  /** The subcommand. */
  name: string;
  /** Its line in `tcptools --help`. */
  summary: string;
  /** The --help description and examples (the bcc tool's, with tcptools' additions). */
  description: string;
  examples: [string, string][];
  /** Declares the flags on the tool's parser (shared ones from cli/args.ts). */
  flags(parser: CommandParser): void;
  /**
   * The ends of a TCP connection it prints a line for (life: both; accept:
   * the passive one; connect: the active one): what tests and benchmarks
   * that drive connections expect of every tool.
   */
  ends: readonly ("active" | "passive")[];
  /** When a connection's line is printed: as it opens (accept, connect), or as it closes (life). */
  printsAt: "open" | "close";
  /** The embedded BPF object it loads. */
  program: P;
  /** The kernel it needs, named when loading or attaching fails (default: Linux 5.8+ with BTF). */
  kernel?: string;
  /** Programs of the object these options do not need: they are not loaded. */
  skipLoad?(options: O): ProgramOf<P>[];
  /** The object's `.rodata` globals for these options. */
  globals(options: O): ProgramGlobals[P];
  /** Port filter maps to fill: map name -> ports. */
  portFilters?(options: O): MapValues<P, number[]>;
  decode(record: DataView): E;
  output(options: O, clock: TimeColumns): Output<E, P>;
  /** Tool-specific counters of events that end unprinted, reported like lost events. */
  unprinted?: CounterMessages<P>;
  /** Keep libbpf's own messages on stderr. */
  verbose?(options: O): boolean;
  /**
   * Its histogram mode (--hist, trace/histograms.ts), if it has one: then
   * its options include the histogram flags, and its object
   * bpf/histogram.bpf.h.
   */
  histogram?: HistogramSpec;
}

/** A tool of any options, event and program: what the registry holds. */
// deno-lint-ignore no-explicit-any
export type AnyTool = Tool<any, any, any>;

/** Declares a tool, checking its parts against each other. */
export function defineTool<O extends CommonOptions, E, P extends ProgramName>(
  tool: Tool<O, E, P>,
): Tool<O, E, P> {
  return tool;
}

/** The tool's argument parser. */
export function parserOf(
  tool: Pick<AnyTool, "name" | "description" | "examples" | "flags" | "histogram">,
): CommandParser {
  const parser = new CommandParser({
    prog: `tcptools ${tool.name}`,
    description: tool.description,
    examples: [...tool.examples, ...scopeExamples(tool.name)],
  });
  tool.flags(parser);
  if (tool.histogram) {
    const { kinds, help, port } = tool.histogram;
    addHistogramFlags(parser, { kinds: Object.keys(kinds), help, port });
  }
  addScopeFlags(parser);
  return parser;
}

/** Parses argv for the tool; throws ArgumentError on bad input, HelpRequested for --help. */
export function parseOptions<O extends CommonOptions, E, P extends ProgramName>(
  tool: Tool<O, E, P>,
  argv: string[],
): O {
  const parser = parserOf(tool);
  const options = parser.parse<O>(argv);
  if (tool.histogram) {
    checkHistogramOptions(tool.histogram, options as O & HistogramOptions, parser);
  }
  return options;
}

/** Runs the tool with `argv`; resolves to the exit status. */
export function runTool<O extends CommonOptions, E, P extends ProgramName>(
  tool: Tool<O, E, P>,
  argv: string[],
): Promise<number> {
  const options = parseOptions(tool, argv);
  const scope = {
    cgroup: options.cgroup,
    cgroupmap: options.cgroupmap,
    mntnsmap: options.mntnsmap,
    duration: options.duration,
    command: options.command,
  };
  const histogram = options as O & HistogramOptions;
  if (tool.histogram && histogram.hist) {
    return traceHistograms({
      tool: `tcptools ${tool.name}`,
      program: tool.program,
      globals: { ...tool.globals(options), ...histogramGlobals(tool.histogram, histogram) },
      portFilters: tool.portFilters?.(options),
      skipLoad: tool.skipLoad?.(options),
      verbose: tool.verbose?.(options),
      histogram: tool.histogram,
      options: histogram,
      unprinted: tool.unprinted,
      scope,
    });
  }
  const { format, summary } = tool.output(options, new TimeColumns(monotonicToUnixOffsetUs()));
  return trace({
    tool: `tcptools ${tool.name}`,
    program: tool.program,
    globals: tool.globals(options),
    portFilters: tool.portFilters?.(options),
    skipLoad: tool.skipLoad?.(options),
    ringBytes: options.ring_kb * 1024,
    decode: tool.decode,
    format,
    summary,
    unprinted: tool.unprinted,
    verbose: tool.verbose?.(options),
    scope,
  });
}
