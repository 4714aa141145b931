/**
 * Reading a running `tcptools metrics` endpoint from tests: start it, scrape
 * it, and pick samples out of the exposition.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Tracer } from "./harness.ts";

/** Starts `tcptools metrics <args>` and waits until its endpoint answers (it listens once attached). */
export async function startMetrics(args: string[], port: number): Promise<Tracer> {
  const tracer = await Tracer.start(["metrics", "--listen", `127.0.0.1:${port}`, ...args], {
    waitForHeader: false,
  });
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      await response.body?.cancel();
      if (response.ok) return tracer;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      const { stderr } = await tracer.stop();
      throw new Error(`tcptools metrics never answered: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The value of each sample of an exposition, by its line's name and labels. */
export function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** The exposition at `port` now. */
export async function scrape(port: number): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The sum of the samples of `name` whose labels include all of `labels`. */
export function total(
  values: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
) {
  let sum = 0;
  for (const [series, value] of values) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

/** Scrapes until `ready(values)`, or fails after 10 s; returns the samples. */
export async function scrapeUntil(
  port: number,
  what: string,
  ready: (values: Map<string, number>) => boolean,
): Promise<Map<string, number>> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const values = samples(await scrape(port));
    if (ready(values)) return values;
    if (Date.now() > deadline) {
      assert.fail(`${what}: ${JSON.stringify([...values]).slice(0, 2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
