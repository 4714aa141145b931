/**
 * `tcptools accept`: every TCP connection a process accepts (tcpaccept(8)),
 * attributed to the process whose accept() or accept4() returned it.
 *
 * @module
 */
import { decodeAcceptEventRecord } from "../../gen/accept.ts";
import type { Identity } from "../events/identity.ts";
import { type ConnectionEvent, connectionEvent } from "../events/record.ts";
import * as args from "../cli/args.ts";
import { type Column, connectionJson, textFormat } from "../output/format.ts";
import { secondsColumn, timeColumn, type TimeColumns } from "../output/time_columns.ts";
import { hasSavedRegisters } from "../bpf/features.ts";
import { defineTool } from "./tool.ts";

/** One connection returned by accept() or accept4() (struct accept_event, bpf/accept.h). */
export interface AcceptEvent extends ConnectionEvent {
  /** Kernel monotonic time of the accept's return, µs. */
  tsUs: number;
  /** The listener's accept queue length after this accept, and its limit. */
  backlog: number;
  backlogMax: number;
  /** The accepting task, the socket's network namespace and cookie. */
  identity: Identity;
}

/** Decodes one record; throws on a short record or an unknown address family. */
export function decodeAcceptEvent(record: DataView): AcceptEvent {
  const r = decodeAcceptEventRecord(record);
  return {
    ...connectionEvent("accept_event", r, true),
    backlog: r.backlog,
    backlogMax: r.backlog_max,
  };
}

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

/** --json always carries the listen queue; the text formats with --backlog. */
const readsBacklog = (options: AcceptOptions) => options.backlog || options.json;

/**
 * The listener is the calls' first argument: read from the saved registers
 * at their exit, or before Linux 5.15 noted at their entry (sys_enter_accept*).
 */
const listenerFromEntry = (options: AcceptOptions) => readsBacklog(options) && !hasSavedRegisters();

function output(options: AcceptOptions, clock: TimeColumns) {
  if (options.json) {
    return {
      format: connectionJson(clock, (e: AcceptEvent) => ({
        backlog: e.backlog,
        backlog_max: e.backlogMax,
      })),
    };
  }
  // bcc tcpaccept: the time columns have no space after them.
  const columns: Column<AcceptEvent>[] = [
    ...(options.time ? [timeColumn<AcceptEvent>(9, "")] : []),
    ...(options.timestamp ? [secondsColumn<AcceptEvent>(clock, (e) => e.tsUs, 3, 9, "")] : []),
    { header: "PID", width: 7, value: (e) => e.pid },
    { header: "COMM", width: 12, comm: "bytes", value: (e) => e.comm },
    { header: "IP", width: 2, value: (e) => e.ip },
    { header: "RADDR", width: 16, value: (e) => e.raddr },
    { header: "RPORT", width: 5, value: (e) => e.rport },
    { header: "LADDR", width: 16, value: (e) => e.laddr },
    { header: "LPORT", width: 5, value: (e) => e.lport },
    ...(options.backlog
      ? [
        { header: "QLEN", width: 5, value: (e: AcceptEvent) => e.backlog },
        { header: "QMAX", width: 5, value: (e: AcceptEvent) => e.backlogMax },
      ]
      : []),
  ];
  return { format: textFormat(columns) };
}

/** The description of `tcptools accept`. */
export const accept = defineTool({
  name: "accept",
  summary: "one line per accepted TCP connection, accept() (tcpaccept)",
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
  flags(parser) {
    args.addTimeFlag(parser, "include a time column (HH:MM:SS)");
    args.addTimestampFlag(parser, "include timestamp on output");
    args.addPidFlag(parser);
    args.addPortFlag(parser, "comma-separated list of local ports to trace.");
    args.addFamilyFlags(parser);
    parser.flag(
      ["--backlog"],
      "add the listen queue length (QLEN) and its limit (QMAX) after each accept",
    );
    args.addJsonFlag(parser, "one JSON object per accept");
    args.addRingFlag(parser);
  },
  ends: ["passive"],
  printsAt: "open",
  program: "accept",
  globals: (options: AcceptOptions) => ({
    ...args.pidAndFamilyGlobals(options),
    filter_lport: options.port ? 1 : 0,
    want_backlog: readsBacklog(options) ? 1 : 0,
    listener_from_entry: listenerFromEntry(options) ? 1 : 0,
  }),
  skipLoad: (options) => [
    ...(listenerFromEntry(options) ? [] : ["accept4_enter", "accept_enter"] as const),
    // Generates each new socket's cookie, which --json alone prints (Linux 5.12+).
    ...(options.json ? [] : ["accept_cookie"] as const),
  ],
  portFilters: (options) => ({ lports: options.port ?? [] }),
  decode: decodeAcceptEvent,
  output,
});
