/**
 * `tcptools connect`: every active TCP open (tcpconnect(8)), and what it
 * shares with `tcptools connlat`, which loads the same BPF object: the JSON
 * object of a connect and bcc's rule for IPv4-mapped addresses.
 *
 * Each connect is printed from inside connect(), as its SYN leaves, with the
 * local port it got; --json (which also reports the outcome) prints each
 * connect when its answer arrives instead: at the SYN-ACK, the RST, the
 * timeout, or when the application gives up.
 *
 * @module
 */
import {
  type ConnectCount,
  type ConnectEvent,
  decodeConnectCount,
  decodeConnectEvent,
} from "../events/connect.ts";
import { identityFields } from "../events/identity.ts";
import { decodeDnsAnswer, type DnsAnswer, isDnsAnswerRecord } from "../dns/answer.ts";
import { DnsCache } from "../dns/cache.ts";
import * as args from "../cli/args.ts";
import type { BpfObject } from "../bpf/object.ts";
import type { CommandParser } from "../cli/parser.ts";
import type { CommUnit } from "../output/comm.ts";
import { type Column, type Format, jsonFormat, textFormat } from "../output/format.ts";
import { secondsColumn, type TimeColumns } from "../output/time_columns.ts";
import { defineTool } from "./tool.ts";

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
  failed: boolean;
  dns: boolean;
  ipv4: boolean;
  ipv6: boolean;
  ring_kb: number;
}

/** The first line of both modes, as bcc prints it. */
export const CONNECT_BANNER = "Tracing connect ... Hit Ctrl-C to end";

/**
 * The BPF object connect and connlat both load, and the end
 * of a connection its events are on.
 */
export const CONNECT_OBJECT = {
  program: "connect",
  ends: ["active"],
  printsAt: "open",
} as const;

const MAPPED = "::ffff:";

/**
 * bcc reports a connect by the kernel function that ran: an AF_INET6 socket
 * connecting to an IPv4-mapped address goes through tcp_v4_connect and is
 * shown as IP 4 with IPv4 addresses, except under -6, where only the IPv6
 * function is watched and it stays IP 6 with ::ffff: addresses. connect and
 * connlat apply this one rule to text and JSON alike.
 */
export function asBccReports(e: ConnectEvent, ipv6: boolean): ConnectEvent {
  if (ipv6 || e.ip !== 6 || !e.daddr.startsWith(MAPPED) || !e.daddr.includes(".")) return e;
  const saddr = e.saddr.startsWith(MAPPED) ? e.saddr.slice(MAPPED.length) : e.saddr;
  return { ...e, ip: 4, saddr, daddr: e.daddr.slice(MAPPED.length) };
}

/** The JSON format of a connect (connect and connlat); `time` is that of `at(event)`. */
export function connectJson(
  clock: TimeColumns,
  at: (e: ConnectEvent) => number,
): Format<ConnectEvent> {
  return jsonFormat((e) => ({
    time: clock.isoTime(at(e)),
    pid: e.pid,
    uid: e.uid,
    comm: e.comm,
    ip: e.ip,
    saddr: e.saddr,
    lport: e.lport,
    daddr: e.daddr,
    dport: e.dport,
    outcome: e.outcome,
    latency_ms: e.outcome === "pending" ? null : e.latencyUs / 1000,
    error: e.error || null,
    ...identityFields(e),
  }));
}

/**
 * The columns tcpconnect and tcpconnlat share: PID to DPORT, LPORT with -L.
 * They differ in COMM's unit (tcpconnect formats raw bytes, tcpconnlat
 * decoded text) and DPORT's width.
 */
export function connectColumns(
  lport: boolean,
  comm: CommUnit,
  dportWidth: number,
): Column<ConnectEvent>[] {
  return [
    { header: "PID", width: 7, value: (e) => e.pid },
    { header: "COMM", width: 12, comm, value: (e) => e.comm },
    { header: "IP", width: 2, value: (e) => e.ip },
    { header: "SADDR", width: 16, value: (e) => e.saddr },
    ...(lport ? [{ header: "LPORT", width: 6, value: (e: ConnectEvent) => e.lport }] : []),
    { header: "DADDR", width: 16, value: (e) => e.daddr },
    { header: "DPORT", width: dportWidth, value: (e) => e.dport },
  ];
}

/** Applies bcc's IPv4-mapped rule to every event before `format` sees it. */
export function asBcc(format: Format<ConnectEvent>, ipv6: boolean): Format<ConnectEvent> {
  return { header: format.header, line: (e) => format.line(asBccReports(e, ipv6)) };
}

/**
 * The -c table printed at the end: a blank line, the header, then the IPv4
 * rows and the IPv6 rows, each sorted by count, most first (bcc's order).
 */
export function countTable(counts: ConnectCount[], ipv6: boolean): string[] {
  const shown = counts.map((c) => {
    const e = asBccReports({ ip: c.ip, saddr: c.saddr, daddr: c.daddr } as ConnectEvent, ipv6);
    return { ...c, ip: e.ip, saddr: e.saddr, daddr: e.daddr };
  });
  const table = textFormat<ConnectCount>([
    { header: "LADDR", width: 25, value: (c) => c.saddr },
    { header: "RADDR", width: 25, value: (c) => c.daddr },
    { header: "RPORT", width: 20, value: (c) => c.dport },
    { header: "CONNECTS", width: 10, value: (c) => c.count },
  ]);
  const rows = (ip: number) =>
    shown.filter((c) => c.ip === ip).sort((a, b) => b.count - a.count).map(table.line);
  return ["", ...table.header(), ...rows(4), ...rows(6)] as string[];
}

function countSummary(object: BpfObject<"connect">, ipv6: boolean): string[] {
  const counts = [...object.entries("counts")].map(([key, value]) =>
    decodeConnectCount(new DataView(key.buffer), new DataView(value.buffer))
  );
  return countTable(counts, ipv6);
}

/** Whether each connect is printed (or counted) at its answer rather than as its SYN leaves. */
function atAnswer(options: ConnectOptions): boolean {
  return options.json || options.failed;
}

/**
 * Adds --failed (connect and connlat): the kernel reports only attempts that
 * did not establish, at their answer. Its help names them, then says `then`:
 * what the tool prints of them (`then` begins with its punctuation).
 */
export function addFailedFlag(parser: CommandParser, then: string): void {
  parser.flag(
    ["--failed"],
    `only connects that did not establish (refused, timed out, unreachable, aborted)${then}`,
  );
}

/** When an event was reported: the SYN leaving (pending), or the answer. */
export const reported = (e: ConnectEvent) => e.startUs + e.latencyUs;

/** What the connect object's ring buffer carries: connects, and with -d DNS answers. */
export type ConnectRecord = ConnectEvent | DnsAnswer;

function decodeRecord(record: DataView): ConnectRecord {
  return isDnsAnswerRecord(record) ? decodeDnsAnswer(record) : decodeConnectEvent(record);
}

/**
 * Prints connects with `format`; DNS answers print nothing, and fill `cache`
 * for the QUERY column of the connects after them in the ring buffer.
 */
function withDnsAnswers(format: Format<ConnectEvent>, cache?: DnsCache): Format<ConnectRecord> {
  return {
    header: format.header,
    line: (r) => {
      if (!("kind" in r)) return format.line(r);
      if (cache && r.name !== undefined) {
        for (const address of r.addresses) cache.add(r.scope, address, r.name, r.tsUs);
      }
      return undefined;
    },
  };
}

function output(options: ConnectOptions, clock: TimeColumns) {
  if (options.json) {
    return { format: withDnsAnswers(asBcc(connectJson(clock, reported), options.ipv6)) };
  }
  const cache = options.dns ? new DnsCache() : undefined;
  const columns: Column<ConnectEvent>[] = [
    // Printed at the answer with --failed: timed by it, so lines stay in order.
    ...(options.timestamp
      ? [secondsColumn<ConnectEvent>(clock, options.failed ? reported : (e) => e.startUs, 3, 9, "")]
      : []),
    ...(options.print_uid
      ? [{ header: "UID", width: 6, gap: "", value: (e: ConnectEvent) => e.uid }]
      : []),
    ...connectColumns(options.lport, "bytes", 6),
    // bcc's DNS column (%s), empty without -d: a trailing space on each line.
    // With -d, the name the destination was looked up by before connect().
    {
      header: "QUERY",
      lineOnly: cache === undefined,
      value: (e) => cache?.query({ netns: e.identity.netns, uid: e.uid }, e.daddr, e.startUs) ?? "",
    },
  ];
  if (options.count) {
    return {
      format: withDnsAnswers({ header: () => [CONNECT_BANNER], line: () => undefined }),
      summary: (object: BpfObject<"connect">) => countSummary(object, options.ipv6),
    };
  }
  return {
    format: withDnsAnswers(asBcc(textFormat(columns, [CONNECT_BANNER]), options.ipv6), cache),
  };
}

/** The description of `tcptools connect`. */
export const connect = defineTool({
  name: "connect",
  summary: "one line per active TCP open, connect() (tcpconnect)",
  description: "Trace TCP connects",
  examples: [
    ["tcptools connect", "trace all TCP connect()s"],
    ["tcptools connect -t", "include timestamps"],
    ["tcptools connect -d", "include DNS queries associated with connects"],
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
    ["tcptools connect --failed", "only connects that failed, printed at the failure"],
  ],
  flags(parser) {
    args.addTimestampFlag(parser, "include timestamp on output");
    args.addPidFlag(parser);
    args.addPortFlag(parser, "comma-separated list of destination ports to trace.");
    args.addFamilyFlags(parser);
    parser.flag(["-L", "--lport"], "include LPORT on output");
    parser.flag(["-U", "--print-uid"], "include UID on output");
    parser.option(["-u", "--uid"], { parse: args.uid, help: "trace this UID only" });
    const mode = parser.exclusiveGroup();
    parser.flag(["-c", "--count"], "count connects per src ip and dest ip/port", mode);
    args.addJsonFlag(
      parser,
      "one JSON object per connect, printed at its answer, with the outcome",
      mode,
    );
    parser.flag(["-d", "--dns"], "include likely DNS query associated with each connect", mode);
    addFailedFlag(parser, ", printed at that answer; with -c, count those");
    args.addRingFlag(parser);
  },
  ...CONNECT_OBJECT,
  globals: (options: ConnectOptions) => ({
    ...args.pidAndFamilyGlobals(options),
    target_uid: options.uid ?? 0,
    filter_uid: options.uid === undefined ? 0 : 1,
    filter_dport: options.port ? 1 : 0,
    report_at_start: options.count || atAnswer(options) ? 0 : 1,
    report_at_end: atAnswer(options) ? 1 : 0,
    count_only: options.count ? 1 : 0,
    failed_only: options.failed ? 1 : 0,
  }),
  portFilters: (options) => ({ dports: options.port ?? [] }),
  // connect_syn (sock_ops) reports or counts each connect as its SYN leaves.
  skipLoad: (options) => [
    ...(atAnswer(options) ? ["connect_syn"] as const : []),
    // connect_dns_query and connect_dns (cgroup skb) note the DNS queries
    // sockets send and copy the answers to them, for -d's QUERY column.
    ...(options.dns ? [] : ["connect_dns", "connect_dns_query"] as const),
  ],
  decode: decodeRecord,
  output,
});
