/**
 * Soak test: `dist/tcptools <tool>` under a steady loopback connection load
 * (scripts/bench/flood.c at a fixed rate) for several minutes, sampling the
 * tracer's resident memory, open descriptors and per-socket map entries, and
 * counting every line it prints against the connections made.
 *
 * Usage: deno task soak [--minutes 10] [--rate 5000] [--tool life]   (as root)
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { reportedTotal } from "./stderr_reports.ts";
import { findTool } from "../src/tools/registry.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "5000" },
    tool: { type: "string", default: "life" },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const tool = values.tool!;
const described = findTool(tool);
if (!described) throw new Error(`soak: no tool ${tool}`);
/** Lines a connection makes: one per end the tool reports. */
const perConnection = described.ends.length;
/** The map that holds per-socket state, if the tool has one. */
const stateMap: Record<string, string> = {
  life: "sessions",
  connect: "attempts",
  connlat: "attempts",
};
const SAMPLE_MS = 30_000;

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args }).outputSync();
  if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function fdCount(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

/** Entries in the tracer's per-socket map (bpftool dumps it). */
function mapEntries(): number {
  const name = stateMap[tool];
  if (!name) return NaN;
  return (JSON.parse(run("bpftool", ["-j", "map", "dump", "name", name])) as unknown[]).length;
}

const dir = Deno.makeTempDirSync({ prefix: "tcptools-soak-" });
const flood = join(dir, "flood");
run("gcc", ["-O2", "-pthread", "-o", flood, join(root, "scripts", "bench", "flood.c")]);

const tracer = new Deno.Command(join(root, "dist", "tcptools"), {
  args: [tool],
  stdout: "piped",
  stderr: "piped",
}).spawn();
let lines = 0;
const counted = (async () => {
  for await (const chunk of tracer.stdout) {
    for (const byte of chunk) if (byte === 10) lines++;
  }
})();
const stderr = new Response(tracer.stderr).text();
try {
  while (lines === 0) await new Promise((resolve) => setTimeout(resolve, 20)); // the header
  const headerLines = lines;
  const load = new Deno.Command(flood, {
    args: [String(minutes * 60), "2", String(rate)],
    stdout: "piped",
  }).spawn();
  const samples: { t: number; rss: number; fds: number; entries: number; lines: number }[] = [];
  const started = performance.now();
  const sample = () =>
    samples.push({
      t: Math.round((performance.now() - started) / 1000),
      rss: rssMb(tracer.pid),
      fds: fdCount(tracer.pid),
      entries: mapEntries(),
      lines,
    });
  const timer = setInterval(sample, SAMPLE_MS);
  sample();
  const out = await load.output();
  clearInterval(timer);
  await new Promise((resolve) => setTimeout(resolve, 500)); // let the last lines drain
  sample();
  const { connections } = JSON.parse(new TextDecoder().decode(out.stdout));
  tracer.kill("SIGINT");
  const status = await tracer.status;
  await counted;

  console.log(`| t (s) | RSS (MB) | fds | ${stateMap[tool] ?? "-"} entries | lines |`);
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  for (const s of samples) {
    console.log(`| ${s.t} | ${s.rss.toFixed(1)} | ${s.fds} | ${s.entries} | ${s.lines} |`);
  }
  const warm = samples.find((s) => s.t >= 60) ?? samples[0];
  const last = samples[samples.length - 1];
  const data = lines - headerLines;
  console.log(
    `\ntool: ${tool}; ${minutes} min at ${rate} connections/s; exit status ${status.code}`,
  );
  console.log(
    `connections: ${connections}; lines: ${data} (${(data / connections).toFixed(4)}` +
      ` per connection, complete is ${perConnection})`,
  );
  // What the tracer reported it could not print, from its last running totals.
  const text = await stderr;
  const lost = reportedTotal(text, "lost");
  const untraced = reportedTotal(text, "untraced");
  const unprinted = reportedTotal(text, "unprinted");
  const reported = lost + untraced + unprinted;
  console.log(
    `reported unprinted: ${lost} lost, ${untraced} ended without a traced close, ` +
      `${unprinted} captured but not printed; ` +
      `lines + reported = ${data + reported} of ${connections * perConnection}`,
  );
  console.log(`RSS drift after the first minute: ${(last.rss - warm.rss).toFixed(1)} MB`);
  console.log(
    `fds: ${Math.min(...samples.map((s) => s.fds))}..${Math.max(...samples.map((s) => s.fds))}`,
  );
  console.log(`map entries at most: ${Math.max(...samples.map((s) => s.entries))}`);
  console.log(`tracer stderr: ${text.trim() || "(empty)"}`);
} finally {
  try {
    tracer.kill("SIGKILL");
  } catch { /* already gone */ }
  Deno.removeSync(dir, { recursive: true });
}
