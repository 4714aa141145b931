/**
 * Lines of `tcptools connlat` (bcc tcpconnlat): one line per answered
 * connect with its SYN-to-answer latency.
 *
 * @module
 */
import type { ConnectEvent } from "../events/connect.ts";
import { cut, left } from "./columns.ts";
import { asBccReports, connectJson } from "./connect.ts";
import { fixed } from "./printf.ts";
import type { TimeColumns } from "./time_columns.ts";

/** Options for {@linkcode ConnlatFormatter}. */
export interface ConnlatFormatOptions {
  json: boolean;
  /** -t: seconds since the first printed answer. */
  timestamp: boolean;
  /** -L: LPORT column. */
  lport: boolean;
  /** -6: keep IPv4-mapped IPv6 connects as IP 6 (see {@linkcode asBccReports}). */
  ipv6: boolean;
}

/** Formats the header and one line per answered connect. */
export class ConnlatFormatter {
  #options: ConnlatFormatOptions;
  #clock: TimeColumns;

  constructor(options: ConnlatFormatOptions, clock: TimeColumns) {
    this.#options = options;
    this.#clock = clock;
  }

  /** The column header (none for JSON). */
  header(): string[] {
    const { json, timestamp, lport } = this.#options;
    if (json) return [];
    const prefix = timestamp ? left("TIME(s)", 9) : "";
    const ports = lport ? `${left("LPORT", 6)} ${left("DADDR", 16)}` : left("DADDR", 16);
    return [
      `${prefix}${left("PID", 7)} ${left("COMM", 12)} ${left("IP", 2)} ${left("SADDR", 16)} ` +
      `${ports} ${left("DPORT", 5)} LAT(ms)`,
    ];
  }

  /** One answered connect; the time columns refer to the answer. */
  line(event: ConnectEvent): string {
    const { json, timestamp, lport, ipv6 } = this.#options;
    const e = asBccReports(event, ipv6);
    if (json) return connectJson(e, this.#clock, e.startUs + e.latencyUs);
    const prefix = timestamp
      ? left(fixed(this.#clock.relativeSeconds(e.startUs + e.latencyUs), 3), 9)
      : "";
    const ports = lport ? `${left(e.lport, 6)} ${left(e.daddr, 16)}` : left(e.daddr, 16);
    return `${prefix}${left(e.pid, 7)} ${left(cut(e.comm, 12), 12)} ${left(e.ip, 2)} ` +
      `${left(e.saddr, 16)} ${ports} ${left(e.dport, 5)} ${fixed(e.latencyUs / 1000, 2)}`;
  }
}
