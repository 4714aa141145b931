/**
 * `tcptools accept`: every TCP connection a process accepts (tcpaccept(8)),
 * attributed to the process whose accept() or accept4() returned it.
 *
 * @module
 */
import { decodeAcceptEvent } from "../events/accept.ts";
import { AcceptFormatter } from "../output/accept.ts";
import { TimeColumns } from "../output/time_columns.ts";
import { monotonicToUnixOffsetUs } from "../bpf/kernel_clock.ts";
import { addFamilyFlags, addRingFlag, familyFilter, pid, portList } from "./args.ts";
import { CommandParser } from "./parser.ts";
import { trace } from "./trace.ts";
import { hasSavedRegisters } from "../bpf/features.ts";

const PROG = "tcptools accept";

/** Flags of `tcptools accept`. */
export interface AcceptOptions {
  time: boolean;
  timestamp: boolean;
  pid: number | undefined;
  port: number[] | undefined;
  backlog: boolean;
  json: boolean;
  ipv4: boolean;
  ipv6: boolean;
  ring_kb: number;
}

/** Parses argv; throws ArgumentError on bad input, HelpRequested for --help. */
export function parseAcceptArgs(argv: string[]): AcceptOptions {
  const parser = new CommandParser({
    prog: PROG,
    description: "Trace TCP accepts",
    examples: [
      ["tcptools accept", "trace all TCP accept()s"],
      ["tcptools accept -t", "include timestamps"],
      ["tcptools accept -P 80,81", "only trace port 80 and 81"],
      ["tcptools accept -p 181", "only trace PID 181"],
      ["tcptools accept -4", "trace IPv4 family only"],
      ["tcptools accept -6", "trace IPv6 family only"],
      ["tcptools accept --backlog", "show the listen queue length and limit"],
      ["tcptools accept --json", "one JSON object per accept"],
    ],
  });
  parser.flag(["-T", "--time"], "include a time column (HH:MM:SS)");
  parser.flag(["-t", "--timestamp"], "include timestamp on output");
  parser.option(["-p", "--pid"], { parse: pid, help: "trace this PID only" });
  parser.option(["-P", "--port"], {
    parse: portList,
    metavar: "PORT",
    help: "comma-separated list of local ports to trace.",
  });
  addFamilyFlags(parser);
  parser.flag(
    ["--backlog"],
    "add the listen queue length (QLEN) and its limit (QMAX) after each accept",
  );
  parser.flag(["--json"], "one JSON object per accept");
  addRingFlag(parser);
  return parser.parse<AcceptOptions>(argv);
}

/** Runs `tcptools accept`; resolves to the exit status. */
export function accept(argv: string[]): Promise<number> {
  const options = parseAcceptArgs(argv);
  const formatter = new AcceptFormatter(
    {
      json: options.json,
      time: options.time,
      timestamp: options.timestamp,
      backlog: options.backlog,
    },
    new TimeColumns(options.json ? monotonicToUnixOffsetUs() : 0),
  );
  // --json always carries the listen queue; the text formats with --backlog.
  const readsBacklog = options.backlog || options.json;
  // The listener is the calls' first argument: read from the saved registers
  // at their exit, or before Linux 5.15 noted at their entry.
  const listenerFromEntry = readsBacklog && !hasSavedRegisters();
  return trace({
    tool: PROG,
    program: "accept",
    attach: [],
    tracepoints: {
      accept4_exit: "syscalls/sys_exit_accept4",
      accept_exit: "syscalls/sys_exit_accept",
      ...(listenerFromEntry
        ? { accept4_enter: "syscalls/sys_enter_accept4", accept_enter: "syscalls/sys_enter_accept" }
        : {}),
    },
    globals: {
      target_pid: options.pid ?? 0,
      target_family: familyFilter(options),
      filter_lport: options.port ? 1 : 0,
      want_backlog: readsBacklog ? 1 : 0,
      listener_from_entry: listenerFromEntry ? 1 : 0,
    },
    portMaps: { lports: options.port ?? [] },
    ringBytes: options.ring_kb * 1024,
    decode: decodeAcceptEvent,
    format: (event) => formatter.line(event),
    header: formatter.header(),
  });
}
