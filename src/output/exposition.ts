/**
 * The Prometheus text exposition format (version 0.0.4) and OpenMetrics
 * 1.0.0, which a scraper asks for with `Accept: application/openmetrics-text`.
 * Pure functions from metric families to text; they know no tool.
 *
 * The two differ in what this writer uses only by: a counter's family is
 * named without `_total` in OpenMetrics (its sample keeps it), and
 * OpenMetrics ends with `# EOF`.
 *
 * @module
 */

/** Label name -> value. */
export type Labels = Record<string, string>;

/** A counter or gauge; a counter's `name` ends in `_total`. */
export interface ScalarFamily {
  type: "counter" | "gauge";
  name: string;
  help: string;
  samples: { labels?: Labels; value: number }[];
}

/** A histogram of durations. */
export interface HistogramFamily {
  type: "histogram";
  name: string;
  help: string;
  /** The buckets' upper bounds (`le`), ascending; +Inf follows. */
  bounds: number[];
  /** Per label set: the count of each bucket (not cumulative; bounds.length + 1), and the sum. */
  series: { labels?: Labels; buckets: number[]; sum: number }[];
}

export type MetricFamily = ScalarFamily | HistogramFamily;

/** The Content-Type of each format. */
export const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** Whether an HTTP Accept header asks for OpenMetrics (as Prometheus sends it). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept);
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function number(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

function sample(name: string, labels: Labels | undefined, value: number): string {
  const pairs = Object.entries(labels ?? {}).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${number(value)}`;
}

function familyLines(family: MetricFamily, openMetrics: boolean): string[] {
  // OpenMetrics names a counter's family without the suffix its sample has.
  const name = openMetrics && family.type === "counter"
    ? family.name.replace(/_total$/, "")
    : family.name;
  const lines = [`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`];
  if (family.type !== "histogram") {
    for (const s of family.samples) lines.push(sample(family.name, s.labels, s.value));
    return lines;
  }
  for (const series of family.series) {
    let cumulative = 0;
    [...family.bounds, Infinity].forEach((bound, i) => {
      cumulative += series.buckets[i] ?? 0;
      lines.push(
        sample(`${family.name}_bucket`, { ...series.labels, le: number(bound) }, cumulative),
      );
    });
    lines.push(sample(`${family.name}_sum`, series.labels, series.sum));
    lines.push(sample(`${family.name}_count`, series.labels, cumulative));
  }
  return lines;
}

/** The families as one exposition, in the order given. */
export function exposition(families: MetricFamily[], openMetrics: boolean): string {
  const lines = families.flatMap((family) => familyLines(family, openMetrics));
  if (openMetrics) lines.push("# EOF");
  return lines.join("\n") + "\n";
}
