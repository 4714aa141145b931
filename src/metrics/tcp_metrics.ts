/**
 * The metrics of `tcptools metrics`, read from the maps of bpf/metrics.bpf.c
 * at each scrape (nothing is counted in user space), as metric families for
 * output/exposition.ts.
 *
 * @module
 */
import {
  decodeMetricsCountsRecord,
  decodeMetricsKeyRecord,
  MetricsBoundUs,
  type MetricsKeyRecord,
  MetricsKind,
  MetricsSlot,
} from "../../gen/metrics.ts";
import type { BpfObject, MapOf } from "../bpf/object.ts";
import { OUTCOMES } from "../events/connect.ts";
import { AF_INET } from "../events/record.ts";
import { commLabel } from "../output/comm.ts";
import type { HistogramFamily, Labels, MetricFamily, ScalarFamily } from "../output/exposition.ts";

/** Counter indexes of the families (bpf/metrics.h): 0 is AF_INET. */
const FAMILIES = ["ipv4", "ipv6"] as const;

/** The labels `--label` can add to connects and sessions (accepts: all but lport, their port). */
export const LABELS = ["comm", "lport", "rport", "cgroup"] as const;
export type LabelName = typeof LABELS[number];

/** The buckets' upper bounds in seconds (enum metrics_bound_us, ascending). */
export const BUCKET_BOUNDS_S: number[] = Object.values(MetricsBoundUs)
  .sort((a, b) => a - b)
  .map((us) => us / 1e6);

/** The label of the series that count what did not fit in the label sets. */
const OVERFLOW: Labels = { overflow: "true" };

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
  untracked_sessions: [
    "tcptools_untracked_sessions_total",
    "Sessions not tracked: the kernel had no memory for their socket storage (not counted as closed).",
  ],
  unowned_accepts: [
    "tcptools_unowned_accepts_total",
    "Accepted sockets whose process was not noted (too many waiting for their first state change).",
  ],
  closes_before_tracing: [
    "tcptools_closes_before_tracing_total",
    "Sessions open before tracing started that closed since (not counted as closed).",
  ],
  label_overflow: [
    "tcptools_label_sets_overflow_total",
    'Connects, accepts and sessions counted in the overflow="true" series: the label sets were full (--label-limit).',
  ],
  skipped_hits: [
    "tcptools_skipped_hits_total",
    "Tracepoint hits the kernel skipped while the program ran on that CPU (counts may miss these).",
  ],
};

interface LabelSet {
  key: MetricsKeyRecord;
  count: number;
  sentBytes: number;
  receivedBytes: number;
}

function familyName(family: number): string {
  return family === AF_INET ? "ipv4" : "ipv6";
}

/** Reads the counters of a loaded metrics object. */
export class TcpMetrics {
  constructor(
    readonly object: BpfObject<"metrics">,
    /** The labels --label asked for, in this order; none: connects and sessions by family only. */
    readonly labels: readonly LabelName[] = [],
  ) {}

  #slot(slot: number, map: MapOf<"metrics"> = "metric_values"): number {
    return this.object.sumPerCpu(map, slot);
  }

  #labelSets(): LabelSet[] {
    const sets: LabelSet[] = [];
    for (
      const [key, value] of this.object.entries("label_sets")
    ) {
      const counts = decodeMetricsCountsRecord(new DataView(value.buffer));
      sets.push({
        key: decodeMetricsKeyRecord(new DataView(key.buffer)),
        count: counts.count,
        sentBytes: counts.sent_bytes,
        receivedBytes: counts.received_bytes,
      });
    }
    return sets;
  }

  /** The --label labels of a label set (accepts leave lport out: it is their port). */
  #extra(key: MetricsKeyRecord): Labels {
    const labels: Labels = {};
    for (const label of this.labels) {
      if (label === "comm") labels.comm = commLabel(key.comm);
      if (label === "lport" && key.kind !== MetricsKind.METRICS_KIND_ACCEPT) {
        labels.lport = String(key.lport);
      }
      if (label === "rport") labels.rport = String(key.rport);
      if (label === "cgroup") labels.cgroup = String(key.cgroup);
    }
    return labels;
  }

  /**
   * A counter: by family from the slots, or with --label (`labeled`) from the
   * label sets of `kind`, plus the overflow series that are not 0.
   */
  #counter(
    name: string,
    help: string,
    slots: { slot: number; labels: Labels }[],
    sets: LabelSet[],
    kind: number,
    labelsOf: (set: LabelSet) => Labels,
    valueOf: (set: LabelSet) => number,
    labeled: boolean,
  ): ScalarFamily {
    if (!labeled) {
      return {
        type: "counter",
        name,
        help,
        samples: slots.map(({ slot, labels }) => ({ labels, value: this.#slot(slot) })),
      };
    }
    const samples = sets.filter((set) => set.key.kind === kind)
      .map((set) => ({
        labels: { ...labelsOf(set), ...this.#extra(set.key) },
        value: valueOf(set),
      }));
    for (const { slot, labels } of slots) {
      const value = this.#slot(slot, "overflow_values");
      if (value > 0) samples.push({ labels: { ...labels, ...OVERFLOW }, value });
    }
    return { type: "counter", name, help, samples };
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

  /** Every family, read now; `totals` are the self-report counters (SelfReports.totals). */
  read(totals: Record<string, number>): MetricFamily[] {
    const S = MetricsSlot;
    const K = MetricsKind;
    const sets = this.#labelSets();
    const labeled = this.labels.length > 0;
    const byFamily = (base: number) =>
      FAMILIES.map((family, i) => ({ slot: base + i, labels: { family } }));
    const connectSlots = [...OUTCOMES].filter(([, outcome]) => outcome !== "pending")
      .flatMap(([value, outcome]) =>
        FAMILIES.map((family, i) => ({
          slot: S.METRICS_CONNECTS + value * FAMILIES.length + i,
          labels: { outcome, family },
        }))
      );
    const family = (set: LabelSet) => ({ family: familyName(set.key.family) });
    const count = (set: LabelSet) => set.count;
    return [
      this.#counter(
        "tcptools_connects_total",
        "TCP connect() attempts by how they were answered (outcome as in tcptools connect --json).",
        connectSlots,
        sets,
        K.METRICS_KIND_CONNECT,
        (set) => ({ outcome: OUTCOMES.get(set.key.outcome) ?? "", ...family(set) }),
        count,
        labeled,
      ),
      this.#counter(
        "tcptools_accepts_total",
        "TCP connections returned by accept() or accept4(), by listening port.",
        byFamily(S.METRICS_ACCEPTS),
        sets,
        K.METRICS_KIND_ACCEPT,
        (set) => ({ ...family(set), port: String(set.key.lport) }),
        count,
        true, // always by port
      ),
      this.#counter(
        "tcptools_sessions_closed_total",
        "TCP sessions closed (as tcptools life prints them).",
        byFamily(S.METRICS_SESSIONS_CLOSED),
        sets,
        K.METRICS_KIND_SESSION,
        family,
        count,
        labeled,
      ),
      this.#counter(
        "tcptools_sent_bytes_total",
        "Payload bytes sent and acknowledged by closed sessions (as tcptools life --json tx_bytes).",
        byFamily(S.METRICS_SENT_BYTES),
        sets,
        K.METRICS_KIND_SESSION,
        family,
        (set) => set.sentBytes,
        labeled,
      ),
      this.#counter(
        "tcptools_received_bytes_total",
        "Payload bytes received by closed sessions (as tcptools life --json rx_bytes).",
        byFamily(S.METRICS_RECEIVED_BYTES),
        sets,
        K.METRICS_KIND_SESSION,
        family,
        (set) => set.receivedBytes,
        labeled,
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
