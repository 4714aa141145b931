/**
 * `tcptools life`: one line per TCP session when it closes (tcplife(8)).
 *
 * @module
 */
import { decodeLifeEvent } from "../events/life.ts";
import { LifeFormatter, type LifeStyle } from "../output/life.ts";
import { TimeColumns } from "../output/time_columns.ts";
import { monotonicToUnixOffsetUs } from "../bpf/kernel_clock.ts";
import { addFamilyFlags, addRingFlag, familyFilter, pid, portList } from "./args.ts";
import { CommandParser } from "./parser.ts";
import { trace } from "./trace.ts";

const PROG = "tcptools life";

/** Flags of `tcptools life`, named as the kernel-side globals they become. */
export interface LifeOptions {
  time: boolean;
  timestamp: boolean;
  wide: boolean;
  csv: boolean;
  json: boolean;
  pid: number | undefined;
  localport: number[] | undefined;
  remoteport: number[] | undefined;
  ipv4: boolean;
  ipv6: boolean;
  ring_kb: number;
}

/** Parses argv; throws ArgumentError on bad input, HelpRequested for --help. */
export function parseLifeArgs(argv: string[]): LifeOptions {
  const parser = new CommandParser({
    prog: PROG,
    description: "Trace the lifespan of TCP sessions and summarize",
    examples: [
      ["tcptools life", "trace all TCP sessions"],
      ["tcptools life -t", "include a timestamp column (seconds)"],
      ["tcptools life -T", "include a time column (HH:MM:SS)"],
      ["tcptools life -w", "wide column output (fits IPv6 addresses)"],
      ["tcptools life -stT", "CSV output, with times and timestamps"],
      ["tcptools life --json", "one JSON object per session"],
      ["tcptools life -p 181", "only trace PID 181"],
      ["tcptools life -L 80", "only trace local port 80"],
      ["tcptools life -L 80,81", "only trace local ports 80 and 81"],
      ["tcptools life -D 80", "only trace remote port 80"],
      ["tcptools life -4", "only trace IPv4 family"],
      ["tcptools life -6", "only trace IPv6 family"],
    ],
  });
  parser.flag(["-T", "--time"], "include a time column on output (HH:MM:SS)");
  parser.flag(["-t", "--timestamp"], "include a timestamp on output (seconds)");
  parser.flag(["-w", "--wide"], "wide column output (fits IPv6 addresses)");
  const format = parser.exclusiveGroup();
  parser.flag(["-s", "--csv"], "comma separated values output", format);
  parser.flag(["--json"], "one JSON object per session (exact bytes, span in ms)", format);
  parser.option(["-p", "--pid"], { parse: pid, help: "trace this PID only" });
  parser.option(["-L", "--localport"], {
    parse: portList,
    metavar: "PORTS",
    help: "comma-separated list of local ports to trace",
  });
  parser.option(["-D", "--remoteport"], {
    parse: portList,
    metavar: "PORTS",
    help: "comma-separated list of remote ports to trace",
  });
  addFamilyFlags(parser);
  addRingFlag(parser);
  return parser.parse<LifeOptions>(argv);
}

function style(options: LifeOptions): LifeStyle {
  if (options.json) return "json";
  if (options.csv) return "csv"; // -s wins over -w, as in bcc
  return options.wide ? "wide" : "columns";
}

/** Runs `tcptools life`; resolves to the exit status. */
export function life(argv: string[]): Promise<number> {
  const options = parseLifeArgs(argv);
  const formatter = new LifeFormatter(
    { style: style(options), time: options.time, timestamp: options.timestamp },
    new TimeColumns(options.json ? monotonicToUnixOffsetUs() : 0),
  );
  const header = formatter.header();
  return trace({
    tool: PROG,
    program: "life",
    attach: ["life_set_state", "life_set_state_backup"],
    // A passive socket's process: the one whose accept() returned it.
    tracepoints: {
      life_accept4_exit: "syscalls/sys_exit_accept4",
      life_accept_exit: "syscalls/sys_exit_accept",
    },
    globals: {
      target_pid: options.pid ?? 0,
      target_family: familyFilter(options),
      filter_lport: options.localport ? 1 : 0,
      filter_rport: options.remoteport ? 1 : 0,
    },
    portMaps: { lports: options.localport ?? [], rports: options.remoteport ?? [] },
    ringBytes: options.ring_kb * 1024,
    // bpf/life.bpf.c counts these when a new socket reuses the memory of one
    // whose close the kernel never traced.
    unprinted: {
      untraced_closes: (n, total) =>
        `${n} sessions ended without a traced close (${total} in total): ` +
        "the kernel freed their sockets unreported",
    },
    decode: decodeLifeEvent,
    format: (event) => formatter.line(event),
    header: header === undefined ? [] : [header],
  });
}
