/**
 * Lines of `tcptools accept` (bcc tcpaccept, with the optional -T and -t
 * prefixes), the --backlog columns, and one JSON object per accept.
 *
 * @module
 */
import type { AcceptEvent } from "../events/accept.ts";
import { left } from "./columns.ts";
import { commColumn } from "./comm.ts";
import { fixed } from "./printf.ts";
import { type TimeColumns, wallClock } from "./time_columns.ts";

/** Options for {@linkcode AcceptFormatter}. */
export interface AcceptFormatOptions {
  json: boolean;
  /** -T: HH:MM:SS column. */
  time: boolean;
  /** -t: seconds since the first printed accept. */
  timestamp: boolean;
  /** --backlog: the listener's queue length and limit after the accept. */
  backlog: boolean;
}

/** Formats the header and one line per accept. */
export class AcceptFormatter {
  #options: AcceptFormatOptions;
  #clock: TimeColumns;

  constructor(options: AcceptFormatOptions, clock: TimeColumns) {
    this.#options = options;
    this.#clock = clock;
  }

  /** The column header (none for JSON). */
  header(): string[] {
    const { json, time, timestamp, backlog } = this.#options;
    if (json) return [];
    return [
      (time ? left("TIME", 9) : "") + (timestamp ? left("TIME(s)", 9) : "") +
      `${left("PID", 7)} ${left("COMM", 12)} ${left("IP", 2)} ${left("RADDR", 16)} ` +
      `${left("RPORT", 5)} ${left("LADDR", 16)} ${left("LPORT", 5)}` +
      (backlog ? ` ${left("QLEN", 5)} ${left("QMAX", 5)}` : ""),
    ];
  }

  /** One accept. */
  line(e: AcceptEvent): string {
    const { json, time, timestamp, backlog } = this.#options;
    if (json) return this.#json(e);
    return (time ? left(wallClock(), 9) : "") +
      (timestamp ? left(fixed(this.#clock.relativeSeconds(e.tsUs), 3), 9) : "") +
      `${left(e.pid, 7)} ${commColumn(e.comm, 12, "bytes")} ${left(e.ip, 2)} ${
        left(e.raddr, 16)
      } ` +
      `${left(e.rport, 5)} ${left(e.laddr, 16)} ${left(e.lport, 5)}` +
      (backlog ? ` ${left(e.backlog, 5)} ${left(e.backlogMax, 5)}` : "");
  }

  #json(e: AcceptEvent): string {
    return JSON.stringify({
      time: this.#clock.isoTime(e.tsUs),
      pid: e.pid,
      comm: e.comm,
      ip: e.ip,
      raddr: e.raddr,
      rport: e.rport,
      laddr: e.laddr,
      lport: e.lport,
      backlog: e.backlog,
      backlog_max: e.backlogMax,
    });
  }
}
