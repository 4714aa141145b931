/**
 * Lines of `tcptools life`: the bcc tcplife formats (default, -w wide, -s CSV,
 * each with the optional -T and -t prefixes) and one JSON object per session.
 *
 * @module
 */
import type { LifeEvent } from "../events/life.ts";
import { left, right } from "./columns.ts";
import { commColumn, csvField, printable } from "./comm.ts";
import { fixed } from "./printf.ts";
import { type TimeColumns, wallClock } from "./time_columns.ts";

/** Output style; -s wins over -w, as in bcc. */
export type LifeStyle = "columns" | "wide" | "csv" | "json";

/** Options for {@linkcode LifeFormatter}. */
export interface LifeFormatOptions {
  style: LifeStyle;
  /** -T: HH:MM:SS column. */
  time: boolean;
  /** -t: seconds since the first printed session. */
  timestamp: boolean;
}

const NAMES = ["PID", "COMM", "IP", "LADDR", "LPORT", "RADDR", "RPORT", "TX_KB", "RX_KB", "MS"];

/** Formats the header and one line per session. */
export class LifeFormatter {
  #options: LifeFormatOptions;
  #clock: TimeColumns;

  constructor(options: LifeFormatOptions, clock: TimeColumns) {
    this.#options = options;
    this.#clock = clock;
  }

  /** The header line, or undefined for JSON (which has none). */
  header(): string | undefined {
    const { style, time, timestamp } = this.#options;
    if (style === "json") return undefined;
    if (style === "csv") {
      return (time ? "TIME," : "") + (timestamp ? "TIME(s)," : "") + NAMES.join(",");
    }
    const prefix = (time ? left("TIME", 8) + " " : "") +
      (timestamp ? left("TIME(s)", 9) + " " : "");
    const [pid, comm, ip, laddr, lport, raddr, rport, tx, rx, ms] = NAMES;
    if (style === "wide") {
      return prefix + `${left(pid, 5)} ${left(comm, 16)} ${left(ip, 2)} ${left(laddr, 39)} ` +
        `${left(lport, 5)} ${left(raddr, 39)} ${left(rport, 5)} ${right(tx, 6)} ${
          right(rx, 6)
        } ${ms}`;
    }
    return prefix + `${left(pid, 5)} ${left(comm, 10)} ${left(laddr, 15)} ${left(lport, 5)} ` +
      `${left(raddr, 15)} ${left(rport, 5)} ${right(tx, 5)} ${right(rx, 5)} ${ms}`;
  }

  /** One session. */
  line(e: LifeEvent): string {
    const { style, time, timestamp } = this.#options;
    if (style === "json") return this.#json(e);
    const txKb = Math.floor(e.txCounter / 1024);
    const rxKb = Math.floor(e.rxCounter / 1024);
    const ms = fixed(e.spanUs / 1000, 2);
    const seconds = timestamp ? this.#clock.relativeSeconds(e.tsUs) : 0;
    if (style === "csv") {
      return (time ? wallClock() + "," : "") + (timestamp ? fixed(seconds, 6) + "," : "") +
        `${e.pid},${
          csvField(printable(e.comm))
        },${e.ip},${e.laddr},${e.lport},${e.raddr},${e.rport},${txKb},${rxKb},${ms}`;
    }
    const prefix = (time ? left(wallClock(), 8) + " " : "") +
      (timestamp ? left(fixed(seconds, 6), 9) + " " : "");
    if (style === "wide") {
      return prefix +
        `${left(e.pid, 5)} ${commColumn(e.comm, 16, "characters")} ${left(e.ip, 2)} ` +
        `${left(e.laddr, 39)} ${left(e.lport, 5)} ${left(e.raddr, 39)} ${left(e.rport, 5)} ` +
        `${right(txKb, 6)} ${right(rxKb, 6)} ${ms}`;
    }
    return prefix +
      `${left(e.pid, 5)} ${commColumn(e.comm, 10, "characters")} ${left(e.laddr, 15)} ` +
      `${left(e.lport, 5)} ${left(e.raddr, 15)} ${left(e.rport, 5)} ${right(txKb, 5)} ` +
      `${right(rxKb, 5)} ${ms}`;
  }

  #json(e: LifeEvent): string {
    return JSON.stringify({
      time: this.#clock.isoTime(e.tsUs),
      pid: e.pid,
      comm: e.comm,
      ip: e.ip,
      laddr: e.laddr,
      lport: e.lport,
      raddr: e.raddr,
      rport: e.rport,
      tx_bytes: e.txBytes,
      rx_bytes: e.rxBytes,
      span_ms: e.spanUs / 1000,
    });
  }
}
