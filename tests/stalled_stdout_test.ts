/**
 * A stdout that stops taking lines (issue 18, item 7): whatever the run
 * could not print reaches stderr, while stdout is stalled and on every way
 * the run ends, and what was printed plus what stderr counts as lost is
 * exactly what happened. `life -L PORT` prints one line per connection to
 * PORT (its server side), so the host's other traffic is not counted.
 *
 * @module
 */
import assert from "node:assert/strict";
import { closedPort, tcptools, until } from "./harness.ts";
import { join } from "./paths.ts";
import { reportedTotal } from "../scripts/stderr_reports.ts";

const decoder = new TextDecoder();
const CONNECTIONS = 3000;
/** The smallest ring buffer, so that the kernel's losses are part of it too. */
const RING = ["--ring-kb", "8"];

/** `count` connections to a listener on `port`, each accepted and closed. */
async function connections(port: number, count: number): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port });
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    (await listener.accept()).close();
    conn.close();
  }
}

/** What a stream brought so far, and a promise of all of it. */
class Gathered {
  text = "";
  readonly done: Promise<string>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true });
      return this.text;
    })();
  }
}

/**
 * The lines of `stdout` about sessions on `port` (the header is not one).
 * Only whole lines: one the full pipe cut in two is counted as unprinted.
 */
function sessionLines(stdout: string, port: number): number {
  return stdout.split("\n").slice(0, -1).filter((l) => new RegExp(`^\\d+ .* ${port} `).test(l))
    .length;
}

/** life > FIFO whose reader stops after the header, ended by SIGINT or by --duration. */
async function stalledFifo(end: "SIGINT" | "--duration"): Promise<void> {
  const port = closedPort("127.0.0.1");
  const dir = Deno.makeTempDirSync({ prefix: "tcptools-test-" });
  const fifo = join(dir, "out");
  new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const duration = end === "--duration" ? ["--duration", "4"] : [];
  const command = tcptools(["life", "-L", String(port), ...RING, ...duration]).flat().map(quote)
    .join(" ");
  const tracer = new Deno.Command("sh", {
    args: ["-c", `exec ${command} > ${quote(fifo)}`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Gathered(tracer.stderr);
  try {
    const reader = await Deno.open(fifo, { read: true });
    // The header says it is attached; then the reader stops reading.
    const first = new Uint8Array(4096);
    let stdout = decoder.decode(first.subarray(0, (await reader.read(first)) ?? 0));
    assert.match(stdout, /^PID/);

    await connections(port, CONNECTIONS);
    // Reported while stdout is still stalled (losses are checked every second).
    const reportedLive = await until(
      "a loss reported while stdout is stalled",
      () => /lost \d+ events/.test(stderr.text),
      5000,
    ).then(() => true, () => false);
    if (end === "SIGINT") Deno.kill(tracer.pid, "SIGINT");
    // A hang detector: a stalled stdout must not keep the run from ending.
    const hang = setTimeout(() => tracer.kill("SIGKILL"), 15000);
    const status = await tracer.status;
    clearTimeout(hang);
    assert.notEqual(status.signal, "SIGKILL", `${end}: the run did not end; ${stderr.text}`);
    stdout += await new Gathered(reader.readable).done;
    const said = await stderr.done;
    assert.equal(status.code, 0, said);
    const printed = sessionLines(stdout, port);
    const [lost, unprinted] = [reportedTotal(said, "lost"), reportedTotal(said, "unprinted")];
    // Every session is printed or counted, and none twice.
    const accounted = printed + lost + unprinted;
    assert.ok(reportedLive, `no loss reported while stdout was stalled; stderr: ${said}`);
    assert.ok(
      accounted === CONNECTIONS,
      `printed ${printed} + lost ${lost} + unprinted ${unprinted} for ${CONNECTIONS}; stderr: ${said}`,
    );
    assert.doesNotMatch(said, /^\s+at /m);
  } finally {
    try {
      tracer.kill("SIGKILL");
    } catch { /* gone */ }
    await tracer.status;
    await stderr.done;
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("life > FIFO whose reader stops: losses reach stderr meanwhile and at SIGINT, printed + lost = sessions", async () => {
  await stalledFifo("SIGINT");
});

Deno.test("life --duration > FIFO whose reader stops: the run still ends on time, printed + lost = sessions", async () => {
  await stalledFifo("--duration");
});

Deno.test("life | a reader that reads the header and leaves: a quiet exit on EPIPE, lost = sessions on stderr", async () => {
  const port = closedPort("127.0.0.1");
  const [cmd, args] = tcptools(["life", "-L", String(port), ...RING]);
  const tracer = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const stderr = new Gathered(tracer.stderr);
  try {
    const stdout = tracer.stdout.getReader();
    const { value } = await stdout.read();
    assert.match(decoder.decode(value), /^PID/);
    await connections(port, CONNECTIONS);
    // What it wrote and was not read (the pipe's 64 KiB) goes with the reader.
    await stdout.cancel();
    const status = await tracer.status;
    const said = await stderr.done;
    assert.equal(status.code, 0, said);
    const [lost, unprinted] = [reportedTotal(said, "lost"), reportedTotal(said, "unprinted")];
    assert.match(said, /not printed: the reader of stdout went away/);
    assert.equal(lost + unprinted, CONNECTIONS, said);
    assert.doesNotMatch(said, /^\s+at /m);
  } finally {
    try {
      tracer.kill("SIGKILL");
    } catch { /* gone */ }
    await tracer.status;
    await stderr.done;
  }
});
