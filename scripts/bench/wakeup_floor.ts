/**
 * The floor under a tracer's CPU at low event rates: what one wake-up of
 * the Deno runtime costs, whatever the program does then, for each way the
 * run loop (src/trace/run.ts) can wait. This process wakes every --interval
 * ms and writes one line to /dev/null, and after --seconds prints its CPU
 * (all threads, those that exited included) per second and per wake-up:
 *
 *   scripts/deno run -A scripts/bench/wakeup_floor.ts --wait timer|ffi|here
 *     [--interval 240] [--seconds 10]
 *
 * - timer: a setTimeout, then an asynchronous write (a turn of the event loop);
 * - ffi: epoll_pwait on a timerfd as a non-blocking FFI call (on a worker
 *   thread, as the idle wait for the ring buffer), then an asynchronous write;
 * - here: the same epoll_pwait on this thread, then a synchronous write (as
 *   the run loop while events keep coming).
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    wait: { type: "string", default: "here" },
    interval: { type: "string", default: "240" },
    seconds: { type: "string", default: "10" },
  },
});
const interval = Number(values.interval);
const seconds = Number(values.seconds);
const wait = values.wait;
if (wait !== "timer" && wait !== "ffi" && wait !== "here") {
  throw new Error("--wait is timer, ffi or here");
}

const epollWait = { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" } as const;
const libc = Deno.dlopen("libc.so.6", {
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  timerfd_create: { parameters: ["i32", "i32"], result: "i32" },
  timerfd_settime: { parameters: ["i32", "i32", "buffer", "buffer"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: epollWait,
  epoll_wait_async: { name: "epoll_wait", ...epollWait, nonblocking: true },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
}).symbols;

const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME_ID = 2;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;

/** CPU time of the whole process (every thread, exited ones too), ns. */
function cpuNs(): number {
  const time = new BigInt64Array(2);
  libc.clock_gettime(CLOCK_PROCESS_CPUTIME_ID, time);
  return Number(time[0]) * 1e9 + Number(time[1]);
}

// A periodic timerfd in an epoll set: what the ring buffer's fd is to the run loop.
const timer = libc.timerfd_create(CLOCK_MONOTONIC, 0);
const period = BigInt(interval) * 1_000_000n;
const spec = new BigInt64Array([period / 1_000_000_000n, period % 1_000_000_000n]);
libc.timerfd_settime(timer, 0, new BigInt64Array([...spec, ...spec]), null);
const epoll = libc.epoll_create1(0);
const event = new Uint8Array(12); // struct epoll_event, packed on x86-64
new DataView(event.buffer).setUint32(0, EPOLLIN, true);
libc.epoll_ctl(epoll, EPOLL_CTL_ADD, timer, event);
const events = new Uint8Array(12);
const expirations = new BigUint64Array(1);

const line = new TextEncoder().encode("x".repeat(80) + "\n");
const devNull = Deno.openSync("/dev/null", { write: true });
await new Promise((resolve) => setTimeout(resolve, 1000)); // start-up is not counted
const start = cpuNs();
let wakeups = 0;
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  if (wait === "timer") {
    await new Promise((resolve) => setTimeout(resolve, interval));
    await devNull.write(line);
  } else if (wait === "ffi") {
    await libc.epoll_wait_async(epoll, events, 1, -1);
    libc.read(timer, expirations, 8n);
    await devNull.write(line);
  } else {
    libc.epoll_wait(epoll, events, 1, -1);
    libc.read(timer, expirations, 8n);
    devNull.writeSync(line);
  }
  wakeups++;
}
const ms = (cpuNs() - start) / 1e6;
console.log(
  `${wait}: ${wakeups} wake-ups in ${seconds} s: ${(ms / seconds).toFixed(2)} ms CPU a second, ` +
    `${(ms / wakeups * 1000).toFixed(0)} µs a wake-up`,
);
