/**
 * Reliability end to end: every tool stops cleanly on every signal and on a
 * closed stdout without leaving BPF objects behind, several tools trace the
 * same traffic at once, and a consumer that stops reading loses only events
 * it reports as lost.
 */
import assert from "node:assert/strict";
import { dirname, fromFileUrl, join } from "./paths.ts";
import {
  assertUnloaded,
  bpfObjects,
  exchange,
  primaryMisses,
  tcptools,
  Tracer,
  until,
} from "./harness.ts";
import { reportedTotal } from "../scripts/stderr_reports.ts";
import { TextStream } from "./text_stream.ts";
import { TOOLS } from "../src/tools/registry.ts";

Deno.test("every tool stops on SIGINT, SIGTERM and SIGHUP with status 0 and unloads everything", async () => {
  const before = bpfObjects();
  for (const { name: tool } of TOOLS) {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      const tracer = await Tracer.start([tool]);
      assert.ok(bpfObjects().size > before.size, `${tool} loaded nothing`);
      const sent = performance.now();
      const { code, stderr } = await tracer.stop(signal);
      const ms = performance.now() - sent;
      assert.equal(code, 0, `${tool} ${signal}: ${stderr}`);
      // A hang detector, not a speed test: against the 200 ms budget, dist/tcptools stops
      // in 11-30 ms here (measured by hand: SIGINT/SIGTERM/SIGHUP, each tool, 3 runs).
      assert.ok(ms < 2000, `${tool} took ${ms.toFixed(0)} ms to stop on ${signal}`);
    }
  }
  await assertUnloaded(before);
});

Deno.test("every tool ends with status 0 when its stdout is closed, and counts what it could not print", async () => {
  for (const { name: tool } of TOOLS) {
    const [cmd, args] = tcptools([tool]);
    const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // the header: attached
    await reader.cancel();
    for (let i = 0; i < 3; i++) await exchange("127.0.0.1", { up: 1, down: 1 });
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    assert.equal(status.code, 0, tool);
    // The lines of the three sessions, written after the reader left.
    assert.match(
      stderr,
      new RegExp(
        `^tcptools ${tool}: \\d+ events captured but not printed: the reader of stdout went away\n$`,
      ),
    );
  }
});

Deno.test("every tool at once reports the same connection", async () => {
  const tracers = await Promise.all(TOOLS.map((tool) => Tracer.start([tool.name])));
  const x = await exchange("127.0.0.1", { up: 4096, down: 1024 });
  const mentions = (line: string, pid: number) => line.startsWith(`${pid} `);
  const pids = (i: number) =>
    TOOLS[i].ends.map((end) => end === "active" ? x.client.pid : x.server.pid);
  await until(
    "every tool's lines",
    () =>
      tracers.every((tracer, i) =>
        pids(i).every((pid) => tracer.lines().some((l) => mentions(l, pid)))
      ),
  );
  const outs = await Promise.all(tracers.map((t) => t.stop()));
  const out = (name: string) => outs[TOOLS.findIndex((tool) => tool.name === name)];
  const mine = (name: string, pid: number) =>
    out(name).stdout.split("\n").filter((l) => mentions(l, pid));
  const port = String(x.serverPort);
  const client = String(x.clientPorts[0]);
  assert.deepEqual(mine("accept", x.server.pid).map((l) => l.split(/ +/).slice(4, 7)), [
    [client, "127.0.0.1", port],
  ]);
  assert.deepEqual(mine("connlat", x.client.pid).map((l) => l.split(/ +/)[5]), [port]);
  assert.deepEqual(mine("connect", x.client.pid).map((l) => l.split(/ +/)[5]), [port]);
  assert.deepEqual(
    [...mine("life", x.client.pid), ...mine("life", x.server.pid)].map((l) =>
      l.split(/ +/).slice(3, 8)
    ),
    [[client, "127.0.0.1", port, "4", "1"], [port, "127.0.0.1", client, "1", "4"]],
  );
  for (const { code, stderr } of outs) {
    assert.equal(code, 0);
    assert.equal(stderr, "");
  }
});

Deno.test("a reader that stalls during a flood loses only what is reported lost", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-test-" });
  try {
    const flood = join(dir, "flood");
    const source = join(dirname(fromFileUrl(import.meta.url)), "..", "scripts", "bench", "flood.c");
    const built = new Deno.Command("gcc", { args: ["-O2", "-pthread", "-o", flood, source] })
      .outputSync();
    assert.ok(built.success, new TextDecoder().decode(built.stderr));
    const [cmd, args] = tcptools(["life", "-s", "--ring-kb", "64"]);
    const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
    const stdout = new TextStream(child.stdout);
    await stdout.until((text) => text.includes("\n"), 10_000); // the header
    // Nobody reads stdout while the flood runs: the pipe fills, the tracer
    // blocks in write(), and the kernel's ring buffer overflows.
    const run = await new Deno.Command(flood, { args: ["5", "2"] }).output(); // 5 s, 2 workers
    const { connections, port } = JSON.parse(new TextDecoder().decode(run.stdout));
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    // Read until the backlog is printed; a read the wait gave up on is kept.
    await stdout.untilQuiet(1500);
    const primarySkips = primaryMisses(child.pid);
    child.kill("SIGINT");
    const text = await stdout.until(() => false, 30_000);
    const [exit, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    assert.equal(exit.code, 0, stderr);
    assert.ok(peakMb < 200, `peak RSS ${peakMb} MB`);
    const printed = text.split("\n").filter((l) => l.includes(`,${port},`)).length;
    const lost = reportedTotal(stderr, "lost");
    const untraced = reportedTotal(stderr, "untraced");
    const unprinted = reportedTotal(stderr, "unprinted");
    assert.ok(lost > 0, `the ring buffer never overflowed: ${stderr}`);
    // Each connection closes two sessions; every one is printed or counted
    // (other traffic can only add to the counts, never to printed).
    const counted = printed + lost + untraced + unprinted;
    const missing = 2 * connections - counted;
    // A known defect: about one session in 400,000 of a loopback flood goes
    // missing unreported when a softirq nests in a program's run and the
    // backup takes the wrong hit for the one the primary was skipped for
    // (bpf/common.bpf.h). A primary that runs handles its hit, so every such
    // loss is a hit the kernel skipped the primary for: their count bounds it.
    assert.ok(
      missing <= primarySkips,
      `${missing} sessions neither printed nor counted (${primarySkips} primary misses; ${stderr})`,
    );
    // Nothing counted twice: other TCP traffic on the host can only add a little.
    assert.ok(counted <= 2 * connections + 100, `${counted} > 2 * ${connections} (${stderr})`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
