import assert from "node:assert/strict";
import { exposition, type MetricFamily, wantsOpenMetrics } from "./exposition.ts";

const families: MetricFamily[] = [
  {
    type: "counter",
    name: "t_connects_total",
    help: "connects\nby outcome",
    samples: [
      { labels: { outcome: "refused", family: "ipv4" }, value: 3 },
      { labels: { outcome: 'a"b\\c\nd', family: "ipv6" }, value: 0 },
    ],
  },
  { type: "gauge", name: "t_up", help: "up", samples: [{ value: 1 }] },
  {
    type: "histogram",
    name: "t_latency_seconds",
    help: "latency",
    bounds: [0.00001, 0.5],
    series: [{ buckets: [1, 0, 2], sum: 2.25 }],
  },
];

Deno.test("the Prometheus text format has HELP, TYPE, escaped labels and cumulative buckets", () => {
  assert.deepEqual(
    exposition(families, false),
    `# HELP t_connects_total connects\\nby outcome
# TYPE t_connects_total counter
t_connects_total{outcome="refused",family="ipv4"} 3
t_connects_total{outcome="a\\"b\\\\c\\nd",family="ipv6"} 0
# HELP t_up up
# TYPE t_up gauge
t_up 1
# HELP t_latency_seconds latency
# TYPE t_latency_seconds histogram
t_latency_seconds_bucket{le="0.00001"} 1
t_latency_seconds_bucket{le="0.5"} 1
t_latency_seconds_bucket{le="+Inf"} 3
t_latency_seconds_sum 2.25
t_latency_seconds_count 3
`,
  );
});

Deno.test("OpenMetrics names a counter's family without _total and ends with # EOF", () => {
  const text = exposition([families[0]], true);
  assert.deepEqual(text.split("\n").slice(0, 3), [
    "# HELP t_connects connects\\nby outcome",
    "# TYPE t_connects counter",
    't_connects_total{outcome="refused",family="ipv4"} 3',
  ]);
  assert.deepEqual(text.endsWith("\n# EOF\n"), true);
});

Deno.test("OpenMetrics is chosen only when the Accept header names it", () => {
  assert.deepEqual(
    wantsOpenMetrics(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    ),
    true,
  );
  assert.deepEqual(wantsOpenMetrics("text/plain"), false);
  assert.deepEqual(wantsOpenMetrics(undefined), false);
});
