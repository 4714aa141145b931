/**
 * The metrics of `tcptools metrics`, read from the maps of bpf/metrics.bpf.c
 * at each scrape (nothing is counted in user space), as metric families for
 * output/exposition.ts.
 *
 * @module
 */
import {
  decodeMetricsAcceptKeyRecord,
  MetricsAcceptKeyRecordSize,
  MetricsBoundUs,
  MetricsSlot,
} from "../../gen/metrics.ts";
import type { BpfObject } from "../bpf/object.ts";
import { OUTCOMES } from "../events/connect.ts";
import type { HistogramFamily, MetricFamily } from "../output/exposition.ts";

const AF_INET = 2;
const AF_INET6 = 10;
/** Counter indexes of the families (bpf/metrics.h): 0 is AF_INET. */
const FAMILIES = ["ipv4", "ipv6"] as const;

/** The buckets' upper bounds in seconds (enum metrics_bound_us, ascending). */
export const BUCKET_BOUNDS_S: number[] = Object.values(MetricsBoundUs)
  .sort((a, b) => a - b)
  .map((us) => us / 1e6);

/** The self-reports (trace/self_reports.ts totals) exported as counters. */
const SELF_REPORTS: Record<string, [name: string, help: string]> = {
  lost_events: [
    "tcptools_lost_events_total",
    "Events the ring buffer had no room for.",
  ],
  untraced_closes: [
    "tcptools_untraced_closes_total",
    "Sessions whose socket the kernel freed without a traced close (not counted as closed).",
  ],
  accept_ports_overflow: [
    "tcptools_accept_ports_overflow_total",
    "Accepts not counted in tcptools_accepts_total: its label sets reached their cap.",
  ],
  skipped_hits: [
    "tcptools_skipped_hits_total",
    "Tracepoint hits the kernel skipped while the program ran on that CPU (counts may miss these).",
  ],
};

/** Reads the counters of a loaded metrics object. */
export class TcpMetrics {
  constructor(readonly object: BpfObject<"metrics">) {}

  #slot(slot: number): number {
    return this.object.sumPerCpu("metric_values", slot);
  }

  #byFamily(name: string, help: string, slot: number): MetricFamily {
    return {
      type: "counter",
      name,
      help,
      samples: FAMILIES.map((family, i) => ({ labels: { family }, value: this.#slot(slot + i) })),
    };
  }

  #histogram(name: string, help: string, slot: number): HistogramFamily {
    const buckets = [...BUCKET_BOUNDS_S, Infinity].map((_, i) => this.#slot(slot + i));
    const sumNs = this.#slot(slot + buckets.length);
    return {
      type: "histogram",
      name,
      help,
      bounds: BUCKET_BOUNDS_S,
      series: [{ buckets, sum: sumNs / 1e9 }],
    };
  }

  #connects(): MetricFamily {
    const samples = [];
    for (const [value, outcome] of OUTCOMES) {
      if (outcome === "pending") continue; // counted only once answered
      for (const [i, family] of FAMILIES.entries()) {
        const slot = MetricsSlot.METRICS_CONNECTS + value * FAMILIES.length + i;
        samples.push({ labels: { outcome, family }, value: this.#slot(slot) });
      }
    }
    return {
      type: "counter",
      name: "tcptools_connects_total",
      help:
        "TCP connect() attempts by how they were answered (outcome as in tcptools connect --json).",
      samples,
    };
  }

  #accepts(): MetricFamily {
    const samples = [];
    for (const [key, value] of this.object.entries("accepts", MetricsAcceptKeyRecordSize, 8)) {
      const { port, family } = decodeMetricsAcceptKeyRecord(new DataView(key.buffer));
      const name = family === AF_INET ? "ipv4" : family === AF_INET6 ? "ipv6" : String(family);
      const count = Number(new DataView(value.buffer).getBigUint64(0, true));
      samples.push({ labels: { family: name, port: String(port) }, value: count });
    }
    samples.sort((a, b) =>
      Number(a.labels.port) - Number(b.labels.port) ||
      a.labels.family.localeCompare(b.labels.family)
    );
    return {
      type: "counter",
      name: "tcptools_accepts_total",
      help: "TCP connections returned by accept() or accept4(), by listening port.",
      samples,
    };
  }

  /** Every family, read now; `totals` are the self-report counters (SelfReports.totals). */
  read(totals: Record<string, number>): MetricFamily[] {
    const S = MetricsSlot;
    return [
      this.#connects(),
      this.#accepts(),
      this.#byFamily(
        "tcptools_sessions_closed_total",
        "TCP sessions closed (as tcptools life prints them).",
        S.METRICS_SESSIONS_CLOSED,
      ),
      this.#byFamily(
        "tcptools_sent_bytes_total",
        "Payload bytes sent and acknowledged by closed sessions (as tcptools life --json tx_bytes).",
        S.METRICS_SENT_BYTES,
      ),
      this.#byFamily(
        "tcptools_received_bytes_total",
        "Payload bytes received by closed sessions (as tcptools life --json rx_bytes).",
        S.METRICS_RECEIVED_BYTES,
      ),
      this.#histogram(
        "tcptools_connect_latency_seconds",
        "From connect() to its answer (SYN-ACK, RST, timeout, error).",
        S.METRICS_CONNECT_LATENCY,
      ),
      this.#histogram(
        "tcptools_session_duration_seconds",
        "Lifespan of closed sessions (as tcptools life's span).",
        S.METRICS_SESSION_DURATION,
      ),
      ...Object.entries(SELF_REPORTS).map(([key, [name, help]]): MetricFamily => ({
        type: "counter",
        name,
        help,
        samples: [{ value: totals[key] ?? 0 }],
      })),
    ];
  }
}
