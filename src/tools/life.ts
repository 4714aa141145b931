/**
 * `tcptools life`: one line per TCP session when it closes (tcplife(8)).
 *
 * @module
 */
import { decodeHistKeyRecord, HistBy, HistValue } from "../../gen/life.ts";
import { decodeLifeEvent, type LifeEvent } from "../events/life.ts";
import * as args from "../cli/args.ts";
import { type Column, connectionJson, csvFormat, textFormat } from "../output/format.ts";
import { fixed } from "../output/printf.ts";
import { secondsColumn, timeColumn, type TimeColumns } from "../output/time_columns.ts";
import { defineTool } from "./tool.ts";
import { SESSION_COUNTERS, SESSION_KERNEL } from "./_session_counters.ts";

/** Flags of `tcptools life`. */
export interface LifeOptions extends args.HistogramOptions {
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

const kb = (bytes: number) => Math.floor(bytes / 1024);

/**
 * bcc tcplife's columns: the default ones, and the `-w` ones (an IP column,
 * 39-wide addresses), which `-s` prints comma-separated.
 */
function columns(wide: boolean): Column<LifeEvent>[] {
  const address = wide ? 39 : 15;
  return [
    { header: "PID", width: 5, value: (e) => e.pid },
    { header: "COMM", width: wide ? 16 : 10, comm: "characters", value: (e) => e.comm },
    ...(wide ? [{ header: "IP", width: 2, value: (e: LifeEvent) => e.ip }] : []),
    { header: "LADDR", width: address, value: (e) => e.laddr },
    { header: "LPORT", width: 5, value: (e) => e.lport },
    { header: "RADDR", width: address, value: (e) => e.raddr },
    { header: "RPORT", width: 5, value: (e) => e.rport },
    { header: "TX_KB", width: wide ? 6 : 5, align: "right", value: (e) => kb(e.txCounter) },
    { header: "RX_KB", width: wide ? 6 : 5, align: "right", value: (e) => kb(e.rxCounter) },
    { header: "MS", value: (e) => fixed(e.spanUs / 1000, 2) },
  ];
}

function output(options: LifeOptions, clock: TimeColumns) {
  if (options.json) {
    return {
      format: connectionJson(clock, (e: LifeEvent) => ({
        tx_bytes: e.txBytes,
        rx_bytes: e.rxBytes,
        span_ms: e.spanUs / 1000,
      })),
    };
  }
  const times: Column<LifeEvent>[] = [
    ...(options.time ? [timeColumn<LifeEvent>(8)] : []),
    ...(options.timestamp ? [secondsColumn<LifeEvent>(clock, (e) => e.tsUs, 6, 9)] : []),
  ];
  // -s wins over -w, as in bcc.
  if (options.csv) return { format: csvFormat([...times, ...columns(true)]) };
  return { format: textFormat([...times, ...columns(options.wide)]) };
}

/** The description of `tcptools life`. */
export const life = defineTool({
  name: "life",
  summary: "one line per TCP session when it closes (tcplife)",
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
    ["tcptools life --hist", "histogram of session durations (usecs) at Ctrl-C"],
    ["tcptools life --hist -m --interval 10", "histogram of durations in msecs every 10 seconds"],
    ["tcptools life --hist bytes --hist-by port", "histograms of bytes per session, per port"],
  ],
  flags(parser) {
    args.addTimeFlag(parser, "include a time column on output (HH:MM:SS)");
    args.addTimestampFlag(parser, "include a timestamp on output (seconds)");
    parser.flag(["-w", "--wide"], "wide column output (fits IPv6 addresses)");
    const format = parser.exclusiveGroup();
    parser.flag(["-s", "--csv"], "comma separated values output", format);
    args.addJsonFlag(parser, "one JSON object per session (exact bytes, span in ms)", format);
    args.addPidFlag(parser);
    parser.option(["-L", "--localport"], {
      parse: args.portList,
      metavar: "PORTS",
      help: "comma-separated list of local ports to trace",
    });
    parser.option(["-D", "--remoteport"], {
      parse: args.portList,
      metavar: "PORTS",
      help: "comma-separated list of remote ports to trace",
    });
    args.addFamilyFlags(parser);
    args.addRingFlag(parser);
  },
  ends: ["active", "passive"],
  printsAt: "close",
  program: "life",
  kernel: SESSION_KERNEL,
  globals: (options: LifeOptions) => ({
    ...args.pidAndFamilyGlobals(options),
    filter_lport: options.localport ? 1 : 0,
    filter_rport: options.remoteport ? 1 : 0,
    want_cookie: options.json ? 1 : 0, // only --json prints it (Linux 5.12+)
  }),
  portFilters: (options) => ({
    lports: options.localport ?? [],
    rports: options.remoteport ?? [],
  }),
  decode: decodeLifeEvent,
  output,
  histogram: {
    kinds: {
      duration: { counts: "time", what: "TCP session durations" },
      bytes: { counts: "bytes", what: "TCP session bytes" },
    },
    help: "print nothing per session: count sessions in the kernel by duration (or with " +
      "bytes, by payload bytes both ways) and print power-of-two histograms at the end",
    port: "the server's: the remote port of a connect, the local port of an accept",
    values: HistValue,
    keys: HistBy,
    decodeKey: decodeHistKeyRecord,
    lineFlags: ["time", "timestamp", "wide", "csv", "json"],
    counted: "sessions",
  },
  unprinted: SESSION_COUNTERS,
});
