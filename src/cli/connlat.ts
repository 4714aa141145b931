/**
 * `tcptools connlat`: every answered active TCP open with its latency, from
 * the SYN leaving inside connect() to the SYN-ACK or RST (tcpconnlat(8)).
 *
 * @module
 */
import { decodeConnectEvent } from "../events/connect.ts";
import { ConnlatFormatter } from "../output/connlat.ts";
import { TimeColumns } from "../output/time_columns.ts";
import { monotonicToUnixOffsetUs } from "../bpf/kernel_clock.ts";
import { addFamilyFlags, addRingFlag, familyFilter, pid } from "./args.ts";
import { connectProgram } from "./connect_program.ts";
import { CommandParser, ValueError } from "./parser.ts";
import { trace } from "./trace.ts";

const PROG = "tcptools connlat";

/** Flags of `tcptools connlat`. */
export interface ConnlatOptions {
  timestamp: boolean;
  pid: number | undefined;
  lport: boolean;
  verbose: boolean;
  json: boolean;
  ipv4: boolean;
  ipv6: boolean;
  ring_kb: number;
  /** Minimum latency to show, ms (0: all). */
  duration_ms: number;
}

/** Value type of the positional minimum latency, as bcc checks it. */
export function minimumMs(value: string): number {
  const ms = value.trim() === "" ? NaN : Number(value);
  if (Number.isNaN(ms)) throw new ValueError("must be a float");
  if (ms < 0) throw new ValueError("must be positive");
  return ms;
}

/** The in-kernel threshold: `int(duration_ms * 1000)` µs, as bcc computes it. */
export function minimumUs(ms: number): number {
  return Math.min(Math.trunc(ms * 1000), Number.MAX_SAFE_INTEGER);
}

/** Parses argv; throws ArgumentError on bad input, HelpRequested for --help. */
export function parseConnlatArgs(argv: string[]): ConnlatOptions {
  const parser = new CommandParser({
    prog: PROG,
    description: "Trace TCP connects and show connection latency",
    examples: [
      ["tcptools connlat", "trace all TCP connect()s"],
      ["tcptools connlat 1", "trace connection latency slower than 1 ms"],
      ["tcptools connlat 0.1", "trace connection latency slower than 100 us"],
      ["tcptools connlat -t", "include timestamps"],
      ["tcptools connlat -p 181", "only trace PID 181"],
      ["tcptools connlat -L", "include LPORT while printing outputs"],
      ["tcptools connlat -4", "trace IPv4 family only"],
      ["tcptools connlat -6", "trace IPv6 family only"],
      ["tcptools connlat --json", "one JSON object per connect, latency in ms"],
    ],
  });
  parser.flag(["-t", "--timestamp"], "include timestamp on output");
  parser.option(["-p", "--pid"], { parse: pid, help: "trace this PID only" });
  parser.flag(["-L", "--lport"], "include LPORT on output");
  addFamilyFlags(parser);
  parser.positional("duration_ms", {
    default: 0,
    parse: minimumMs,
    help: "minimum duration to trace (ms)",
  });
  parser.flag(["-v", "--verbose"], "print libbpf's messages about loading the BPF program");
  parser.flag(["--json"], "one JSON object per connect (latency in ms, outcome)");
  addRingFlag(parser);
  return parser.parse<ConnlatOptions>(argv);
}

/** Runs `tcptools connlat`; resolves to the exit status. */
export function connlat(argv: string[]): Promise<number> {
  const options = parseConnlatArgs(argv);
  const formatter = new ConnlatFormatter(
    { json: options.json, timestamp: options.timestamp, lport: options.lport, ipv6: options.ipv6 },
    new TimeColumns(options.json ? monotonicToUnixOffsetUs() : 0),
  );
  return trace({
    tool: PROG,
    ...connectProgram({
      target_pid: options.pid ?? 0,
      target_family: familyFilter(options),
      report_at_end: 1,
      answered_only: 1, // bcc measures to the first answer: a SYN-ACK or a RST
      min_latency_us: minimumUs(options.duration_ms),
    }, false),
    ringBytes: options.ring_kb * 1024,
    decode: decodeConnectEvent,
    format: (event) => formatter.line(event),
    header: formatter.header(),
    verbose: options.verbose,
  });
}
