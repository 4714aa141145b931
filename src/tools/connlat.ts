/**
 * `tcptools connlat`: every answered active TCP open with its latency, from
 * the SYN leaving inside connect() to the SYN-ACK or RST (tcpconnlat(8)).
 *
 * @module
 */
import { decodeHistKeyRecord, HistBy, HistValue } from "../../gen/connect.ts";
import { type ConnectEvent, decodeConnectEvent } from "../events/connect.ts";
import * as args from "../cli/args.ts";
import { ValueError } from "../cli/parser.ts";
import { type Column, textFormat } from "../output/format.ts";
import { fixed } from "../output/printf.ts";
import { secondsColumn, type TimeColumns } from "../output/time_columns.ts";
import {
  addFailedFlag,
  asBcc,
  CONNECT_OBJECT,
  connectColumns,
  connectJson,
  reported,
} from "./connect.ts";
import { defineTool } from "./tool.ts";

/** Flags of `tcptools connlat`. */
export interface ConnlatOptions extends args.HistogramOptions {
  timestamp: boolean;
  pid: number | undefined;
  lport: boolean;
  verbose: boolean;
  json: boolean;
  failed: boolean;
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

function output(options: ConnlatOptions, clock: TimeColumns) {
  if (options.json) return { format: asBcc(connectJson(clock, reported), options.ipv6) };
  const columns: Column<ConnectEvent>[] = [
    ...(options.timestamp ? [secondsColumn<ConnectEvent>(clock, reported, 3, 9, "")] : []),
    ...connectColumns(options.lport, "characters", 5),
    { header: "LAT(ms)", value: (e) => fixed(e.latencyUs / 1000, 2) },
  ];
  return { format: asBcc(textFormat(columns), options.ipv6) };
}

/** The description of `tcptools connlat`. */
export const connlat = defineTool({
  name: "connlat",
  summary: "active TCP opens with their SYN-to-answer latency (tcpconnlat)",
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
    ["tcptools connlat --failed", "only failed connects, with the time until they failed"],
    ["tcptools connlat --hist", "histogram of connect latency (usecs) at Ctrl-C"],
    ["tcptools connlat --hist --hist-by pid --interval 5", "one histogram per process, every 5 s"],
  ],
  flags(parser) {
    args.addTimestampFlag(parser, "include timestamp on output");
    args.addPidFlag(parser);
    parser.flag(["-L", "--lport"], "include LPORT on output");
    args.addFamilyFlags(parser);
    parser.positional("duration_ms", {
      default: 0,
      parse: minimumMs,
      help: "minimum duration to trace (ms)",
    });
    parser.flag(["-v", "--verbose"], "print libbpf's messages about loading the BPF program");
    args.addJsonFlag(parser, "one JSON object per connect (latency in ms, outcome)");
    addFailedFlag(parser, ": LAT(ms) is the time until that answer");
    args.addRingFlag(parser);
  },
  ...CONNECT_OBJECT,
  globals: (options: ConnlatOptions) => ({
    ...args.pidAndFamilyGlobals(options),
    report_at_end: 1,
    // bcc measures to the first answer: a SYN-ACK or a RST. --failed instead
    // takes every attempt that did not establish, however it ended.
    answered_only: options.failed ? 0 : 1,
    failed_only: options.failed ? 1 : 0,
    min_latency_us: minimumUs(options.duration_ms),
  }),
  // It reports at the answer: connect_syn (sock_ops, the SYN leaving) is not
  // needed; nor is connect_dns (connect -d's DNS answers, records connlat
  // does not decode).
  skipLoad: () => ["connect_syn", "connect_dns", "connect_dns_query"],
  decode: decodeConnectEvent,
  output,
  histogram: {
    kinds: { latency: { counts: "time", what: "TCP connect latency" } },
    help: "print nothing per connect: count connects in the kernel by latency and print " +
      "a power-of-two histogram at the end",
    port: "the destination port",
    values: HistValue,
    keys: HistBy,
    decodeKey: decodeHistKeyRecord,
    lineFlags: ["timestamp", "lport", "json"],
    counted: "connects",
  },
  verbose: (options) => options.verbose,
});
