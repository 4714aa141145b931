/**
 * `tcptools connect`: every active TCP open (tcpconnect(8)).
 *
 * Each connect is printed from inside connect(), as its SYN leaves, with the
 * local port it got; --json (which also reports the outcome) prints each
 * connect when its answer arrives instead: at the SYN-ACK, the RST, the
 * timeout, or when the application gives up.
 *
 * @module
 */
import { decodeConnectCount, decodeConnectEvent } from "../events/connect.ts";
import { ConnectFormatter, countTable } from "../output/connect.ts";
import { TimeColumns } from "../output/time_columns.ts";
import { monotonicToUnixOffsetUs } from "../bpf/kernel_clock.ts";
import { connectCountKeyLayout } from "../events/connect.ts";
import { addFamilyFlags, addRingFlag, familyFilter, pid, portList, uid } from "./args.ts";
import { connectProgram } from "./connect_program.ts";
import { CommandParser } from "./parser.ts";
import { trace } from "./trace.ts";

const PROG = "tcptools connect";

/** Flags of `tcptools connect`. */
export interface ConnectOptions {
  timestamp: boolean;
  pid: number | undefined;
  port: number[] | undefined;
  lport: boolean;
  print_uid: boolean;
  uid: number | undefined;
  count: boolean;
  json: boolean;
  ipv4: boolean;
  ipv6: boolean;
  ring_kb: number;
}

/** Parses argv; throws ArgumentError on bad input, HelpRequested for --help. */
export function parseConnectArgs(argv: string[]): ConnectOptions {
  const parser = new CommandParser({
    prog: PROG,
    description: "Trace TCP connects",
    examples: [
      ["tcptools connect", "trace all TCP connect()s"],
      ["tcptools connect -t", "include timestamps"],
      ["tcptools connect -p 181", "only trace PID 181"],
      ["tcptools connect -P 80", "only trace port 80"],
      ["tcptools connect -P 80,81", "only trace port 80 and 81"],
      ["tcptools connect -4", "only trace IPv4 family"],
      ["tcptools connect -6", "only trace IPv6 family"],
      ["tcptools connect -U", "include UID"],
      ["tcptools connect -u 1000", "only trace UID 1000"],
      ["tcptools connect -c", "count connects per src ip and dest ip/port"],
      ["tcptools connect -L", "include LPORT while printing outputs"],
      ["tcptools connect --json", "one JSON object per connect, with its outcome"],
    ],
  });
  parser.flag(["-t", "--timestamp"], "include timestamp on output");
  parser.option(["-p", "--pid"], { parse: pid, help: "trace this PID only" });
  parser.option(["-P", "--port"], {
    parse: portList,
    metavar: "PORT",
    help: "comma-separated list of destination ports to trace.",
  });
  addFamilyFlags(parser);
  parser.flag(["-L", "--lport"], "include LPORT on output");
  parser.flag(["-U", "--print-uid"], "include UID on output");
  parser.option(["-u", "--uid"], { parse: uid, help: "trace this UID only" });
  const mode = parser.exclusiveGroup();
  parser.flag(["-c", "--count"], "count connects per src ip and dest ip/port", mode);
  parser.flag(
    ["--json"],
    "one JSON object per connect, printed at its answer, with the outcome",
    mode,
  );
  addRingFlag(parser);
  return parser.parse<ConnectOptions>(argv);
}

/** Runs `tcptools connect`; resolves to the exit status. */
export function connect(argv: string[]): Promise<number> {
  const options = parseConnectArgs(argv);
  const atAnswer = options.json;
  const formatter = new ConnectFormatter(
    {
      json: options.json,
      timestamp: options.timestamp,
      printUid: options.print_uid,
      lport: options.lport,
      ipv6: options.ipv6,
    },
    new TimeColumns(options.json ? monotonicToUnixOffsetUs() : 0),
  );
  const keySize = connectCountKeyLayout.size;
  return trace({
    tool: PROG,
    ...connectProgram(
      {
        target_pid: options.pid ?? 0,
        target_uid: options.uid ?? 0,
        filter_uid: options.uid === undefined ? 0 : 1,
        target_family: familyFilter(options),
        filter_dport: options.port ? 1 : 0,
        report_at_start: options.count || atAnswer ? 0 : 1,
        report_at_end: atAnswer ? 1 : 0,
        count_only: options.count ? 1 : 0,
      },
      !atAnswer,
    ),
    portMaps: { dports: options.port ?? [] },
    ringBytes: options.ring_kb * 1024,
    decode: decodeConnectEvent,
    format: (event) => formatter.line(event),
    header: options.count ? [formatter.header()[0]] : formatter.header(),
    summary: options.count
      ? (object) => {
        const counts = [...object.entries("counts", keySize, 8)].map(([key, value]) =>
          decodeConnectCount(new DataView(key.buffer), new DataView(value.buffer))
        );
        return countTable(counts, options.ipv6);
      }
      : undefined,
  });
}
