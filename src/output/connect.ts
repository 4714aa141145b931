/**
 * Lines of `tcptools connect` (bcc tcpconnect: trace mode, -c count table)
 * and the JSON object shared with `tcptools connlat`.
 *
 * @module
 */
import type { ConnectCount, ConnectEvent } from "../events/connect.ts";
import { cut, left } from "./columns.ts";
import { fixed } from "./printf.ts";
import type { TimeColumns } from "./time_columns.ts";

/** The first line of both modes, as bcc prints it. */
export const CONNECT_BANNER = "Tracing connect ... Hit Ctrl-C to end";

/** Options for {@linkcode ConnectFormatter}. */
export interface ConnectFormatOptions {
  json: boolean;
  /** -t: seconds since the first printed connect. */
  timestamp: boolean;
  /** -U: UID column. */
  printUid: boolean;
  /** -L: LPORT column. */
  lport: boolean;
  /** -6: keep IPv4-mapped IPv6 connects as IP 6 (see {@linkcode asBccReports}). */
  ipv6: boolean;
}

const MAPPED = "::ffff:";

/**
 * bcc's tcpconnect reports a connect by the kernel function that ran: an
 * AF_INET6 socket connecting to an IPv4-mapped address goes through
 * tcp_v4_connect and is shown as IP 4 with IPv4 addresses, except under -6,
 * where only the IPv6 function is watched and it stays IP 6 with ::ffff:
 * addresses. connect and connlat apply this one rule to text and JSON alike.
 */
export function asBccReports(e: ConnectEvent, ipv6: boolean): ConnectEvent {
  if (ipv6 || e.ip !== 6 || !e.daddr.startsWith(MAPPED) || !e.daddr.includes(".")) return e;
  const saddr = e.saddr.startsWith(MAPPED) ? e.saddr.slice(MAPPED.length) : e.saddr;
  return { ...e, ip: 4, saddr, daddr: e.daddr.slice(MAPPED.length) };
}

/** Formats the header and one line per connect. */
export class ConnectFormatter {
  #options: ConnectFormatOptions;
  #clock: TimeColumns;

  constructor(options: ConnectFormatOptions, clock: TimeColumns) {
    this.#options = options;
    this.#clock = clock;
  }

  /** The lines printed once attached: the banner and the column header (none for JSON). */
  header(): string[] {
    const { json, timestamp, printUid, lport } = this.#options;
    if (json) return [];
    const prefix = (timestamp ? left("TIME(s)", 9) : "") + (printUid ? left("UID", 6) : "");
    const body = lport
      ? `${left("PID", 7)} ${left("COMM", 12)} ${left("IP", 2)} ${left("SADDR", 16)} ` +
        `${left("LPORT", 6)} ${left("DADDR", 16)} ${left("DPORT", 6)}`
      : `${left("PID", 7)} ${left("COMM", 12)} ${left("IP", 2)} ${left("SADDR", 16)} ` +
        `${left("DADDR", 16)} ${left("DPORT", 6)}`;
    return [CONNECT_BANNER, prefix + body];
  }

  /** One connect; the time columns refer to its report: the SYN leaving, or the answer (JSON). */
  line(event: ConnectEvent): string {
    const { json, timestamp, printUid, lport, ipv6 } = this.#options;
    const reportedUs = event.startUs + event.latencyUs;
    const e = asBccReports(event, ipv6);
    if (json) return connectJson(e, this.#clock, reportedUs);
    const prefix = (timestamp ? left(fixed(this.#clock.relativeSeconds(reportedUs), 3), 9) : "") +
      (printUid ? left(e.uid, 6) : "");
    const head = `${left(e.pid, 7)} ${left(cut(e.comm, 12), 12)} ${left(e.ip, 2)} ${
      left(e.saddr, 16)
    } `;
    // The trailing " " is bcc's empty DNS column (%s), printed after DPORT.
    return lport
      ? `${prefix}${head}${left(e.lport, 6)} ${left(e.daddr, 16)} ${left(e.dport, 6)} `
      : `${prefix}${head}${left(e.daddr, 16)} ${left(e.dport, 6)} `;
  }
}

/** One JSON object for a connect event (connect and connlat share it). */
export function connectJson(e: ConnectEvent, clock: TimeColumns, atUs: number): string {
  return JSON.stringify({
    time: clock.isoTime(atUs),
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
  });
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
  const rows = (ip: number) =>
    shown.filter((c) => c.ip === ip).sort((a, b) => b.count - a.count).map((c) =>
      `${left(c.saddr, 25)} ${left(c.daddr, 25)} ${left(c.dport, 20)} ${left(c.count, 10)}`
    );
  return [
    "",
    `${left("LADDR", 25)} ${left("RADDR", 25)} ${left("RPORT", 20)} ${left("CONNECTS", 10)}`,
    ...rows(4),
    ...rows(6),
  ];
}
