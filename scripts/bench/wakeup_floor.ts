/**
 * The floor under a tracer's CPU at low event rates: what one wake-up of
 * the Deno runtime costs, whatever the program does then. This process
 * wakes every --interval ms (a timer, as the run loop's batch period),
 * writes one line to /dev/null, and after --seconds prints its own CPU (the
 * schedstat sum over its threads, as scripts/bench.ts reads a tracer's) per
 * second and per wake-up:
 *
 *   scripts/deno run -A scripts/bench/wakeup_floor.ts --interval 200 --seconds 10
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    interval: { type: "string", default: "200" },
    seconds: { type: "string", default: "10" },
  },
});
const interval = Number(values.interval);
const seconds = Number(values.seconds);

/** CPU time of all this process's threads, ns (first field of each schedstat). */
function cpuNs(): number {
  let total = 0;
  for (const task of Deno.readDirSync("/proc/self/task")) {
    try {
      total += Number(
        Deno.readTextFileSync(`/proc/self/task/${task.name}/schedstat`).split(" ")[0],
      );
    } catch { /* the thread exited */ }
  }
  return total;
}

const line = new TextEncoder().encode("x".repeat(80) + "\n");
const devNull = Deno.openSync("/dev/null", { write: true });
await new Promise((resolve) => setTimeout(resolve, 1000)); // start-up is not counted
const start = cpuNs();
let wakeups = 0;
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  await new Promise((resolve) => setTimeout(resolve, interval));
  await devNull.write(line);
  wakeups++;
}
const ms = (cpuNs() - start) / 1e6;
console.log(
  `${wakeups} wake-ups in ${seconds} s: ${(ms / seconds).toFixed(2)} ms CPU a second, ` +
    `${(ms / wakeups * 1000).toFixed(0)} µs a wake-up`,
);
