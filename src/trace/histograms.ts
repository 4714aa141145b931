/**
 * Histogram mode of the line-per-event tools (`life --hist`, `connlat
 * --hist`): the kernel counts each session or connect into a power-of-two
 * histogram (bpf/histogram.bpf.h) instead of sending an event, and this loop
 * prints the histograms, as bcc's latency tools do, every --interval and at
 * the end. It runs in the session every run shares (trace/session.ts), with
 * a loop of its own in place of the event loop (trace/run.ts), since no
 * event reaches user space.
 *
 * @module
 */
import type { BpfObject, MapOf, ProgramName } from "../bpf/object.ts";
import {
  DEFAULT_HIST_LIMIT,
  type HistKeyName,
  type HistogramOptions,
  type ScopeOptions,
} from "../cli/args.ts";
import { ArgumentError, type CommandParser } from "../cli/parser.ts";
import { log2Histogram, log2Histograms, type SlotCounts } from "../output/histogram.ts";
import { wallClock } from "../output/time_columns.ts";
import { BatchWriter } from "../output/writer.ts";
import { type AttachSpec, type MapValues, NO_EVENTS_RING_BYTES } from "./attach.ts";
import type { CounterMessages } from "./self_reports.ts";
import { runSession, type Session } from "./session.ts";

/** One slot of one histogram: struct hist_key (bpf/histogram.h), as gen/<object>.ts decodes it. */
export interface HistogramKey {
  comm: string;
  id: number;
  slot: number;
}

/** What `--hist NAME` counts. */
export interface HistogramKind {
  /** A time (µs, or ms with -m) or a number of bytes. */
  counts: "time" | "bytes";
  /** For the banner: "Tracing <what>... Hit Ctrl-C to end." */
  what: string;
}

/** A tool's histogram mode, declared once in its description (src/tools/<tool>.ts). */
export interface HistogramSpec {
  /** What --hist can count, by name; the first is what `--hist` alone counts. */
  kinds: Record<string, HistogramKind>;
  /** --hist's help. */
  help: string;
  /** Which port --hist-by port means. */
  port: string;
  /** The object's generated enums hist_value and hist_by (bpf/histogram.h). */
  values: Record<"HIST_OFF" | "HIST_TIME" | "HIST_BYTES", number>;
  keys: Record<"HIST_BY_NONE" | "HIST_BY_PID" | "HIST_BY_COMM" | "HIST_BY_PORT", number>;
  /** The object's generated decoder of struct hist_key. */
  decodeKey(view: DataView): HistogramKey;
  /** Options (dests) of the line formats, which --hist replaces: not allowed with it. */
  lineFlags: string[];
  /** What one count is, in reports: "sessions", "connects". */
  counted: string;
}

/** The objects that count histograms (bpf/histogram.bpf.h): those with its map `hists`. */
type HistogramProgram = { [K in ProgramName]: "hists" extends MapOf<K> ? K : never }[ProgramName];

/** bcc's histograms have this many slots: every 64-bit value has one. */
const SLOTS = 65;
/** How long a stop may take to print the histograms before the process just exits. */
const STOP_GRACE_MS = 1000;

/** What --hist asked for: the kind's name and what it counts. */
function kindOf(spec: HistogramSpec, options: HistogramOptions): [string, HistogramKind] {
  const names = Object.keys(spec.kinds);
  const name = typeof options.hist === "string" ? options.hist : names[0];
  return [name, spec.kinds[name]];
}

/**
 * Checks the histogram flags against each other and the tool's line flags;
 * throws the parser's usage error (exit 2) for a combination that means
 * nothing.
 */
export function checkHistogramOptions(
  spec: HistogramSpec,
  options: HistogramOptions,
  parser: CommandParser,
): void {
  const fail = (message: string) => {
    throw new ArgumentError(message, parser.usage());
  };
  if (!options.hist) {
    const given: [string, boolean][] = [
      ["hist_by", options.hist_by !== undefined],
      ["interval", options.interval !== undefined],
      ["milliseconds", options.milliseconds],
      ["hist_limit", options.hist_limit !== DEFAULT_HIST_LIMIT],
    ];
    for (const [dest] of given.filter(([, isGiven]) => isGiven)) {
      fail(`argument ${parser.displayName(dest)}: only allowed with argument --hist`);
    }
    return;
  }
  const values = options as unknown as Record<string, unknown>;
  for (const dest of spec.lineFlags) {
    if (values[dest]) {
      fail(`argument --hist: not allowed with argument ${parser.displayName(dest)}`);
    }
  }
  const [name, kind] = kindOf(spec, options);
  if (options.milliseconds && kind.counts !== "time") {
    fail(`argument -m/--milliseconds: not allowed with argument --hist ${name}`);
  }
}

/** The `.rodata` globals of bpf/histogram.bpf.h for these options (HIST_OFF without --hist). */
export function histogramGlobals(spec: HistogramSpec, options: HistogramOptions) {
  if (!options.hist) return { hist_value: spec.values.HIST_OFF };
  const [, kind] = kindOf(spec, options);
  const keys: Record<HistKeyName, number> = {
    pid: spec.keys.HIST_BY_PID,
    comm: spec.keys.HIST_BY_COMM,
    port: spec.keys.HIST_BY_PORT,
  };
  return {
    hist_value: kind.counts === "time" ? spec.values.HIST_TIME : spec.values.HIST_BYTES,
    hist_by: options.hist_by ? keys[options.hist_by] : spec.keys.HIST_BY_NONE,
    hist_unit_ns: options.milliseconds ? 1_000_000 : 1000,
  };
}

/**
 * The kernel's counts (the `hists` map), read as what was added since the
 * last read. The map keeps counting and is never cleared under the program,
 * so no count is lost between a read and a clear: each read is the
 * difference from the one before. To keep the keys of the past (processes
 * that exited) from filling it, slots that added nothing for a whole
 * interval leave the map; the kernel's last count of a slot is read as it
 * leaves (Linux 5.14+).
 */
export class HistogramCounts {
  readonly #seen = new Map<string, number>();

  constructor(
    readonly object: BpfObject,
    readonly decodeKey: (view: DataView) => HistogramKey,
    readonly by: HistKeyName | undefined,
  ) {}

  /** Counts by slot, per histogram key (0 or "" for a single histogram), added since the last take. */
  take(forgetIdle: boolean): Map<number | string, number[]> {
    const added = new Map<number | string, number[]>();
    const add = (bytes: Uint8Array<ArrayBuffer>, n: number) => {
      const key = this.decodeKey(new DataView(bytes.buffer));
      const group = this.by === "comm" ? key.comm : key.id;
      let counts = added.get(group);
      if (counts === undefined) added.set(group, counts = new Array(SLOTS).fill(0));
      counts[key.slot] += n;
    };
    const count = (value: Uint8Array<ArrayBuffer>) =>
      Number(new DataView(value.buffer).getBigUint64(0, true));
    // Read whole before anything leaves the map, which would upset the walk.
    for (const [key, value] of [...this.object.entries("hists")]) {
      const id = key.join(",");
      const before = this.#seen.get(id) ?? 0;
      const now = count(value);
      if (now > before) {
        add(key, now - before);
        this.#seen.set(id, now);
      } else if (forgetIdle) {
        // Taking the entry reads it again, into `value`: what came since counts too.
        if (this.object.takeMapEntry("hists", key, value) && count(value) > before) {
          add(key, count(value) - before);
        }
        this.#seen.delete(id);
      }
    }
    return added;
  }
}

/** The histograms of one print, in key order (PIDs and ports as numbers, names as text). */
export function histogramLines(
  counts: Map<number | string, SlotCounts>,
  by: HistKeyName | undefined,
  unit: string,
): string[] {
  if (by === undefined) return log2Histogram(counts.values().next().value ?? [], unit);
  const keys = [...counts.keys()].sort((a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : String(a) < String(b) ? -1 : 1
  );
  return log2Histograms(
    keys.map((key) => ({ title: `${by} = ${key}`, counts: counts.get(key)! })),
    unit,
  );
}

/** What a histogram run needs: the object, the tool's histogram mode and the options. */
export interface HistogramRun<P extends ProgramName> extends Omit<AttachSpec<P>, "ringBytes"> {
  /** Tool name for messages, e.g. "tcptools life". */
  tool: string;
  histogram: HistogramSpec;
  options: HistogramOptions;
  /** The tool's own counters of events that end unprinted (trace/self_reports.ts). */
  unprinted?: CounterMessages;
  scope: ScopeOptions;
}

/** Counts in the kernel and prints histograms until stopped; resolves to the exit status. */
export function traceHistograms<P extends ProgramName>(
  run: HistogramRun<P>,
): Promise<number> {
  const { histogram, options } = run;
  const slots: MapValues<HistogramProgram, number> = { hists: options.hist_limit };
  return runSession({
    ...run,
    ringBytes: NO_EVENTS_RING_BYTES,
    mapSizes: { ...run.mapSizes, ...slots } as MapValues<P, number>,
    counters: {
      ...run.unprinted,
      hist_overflow: (n, total) =>
        `${n} ${histogram.counted} not counted (${total} in total): ` +
        `the ${options.hist_limit} histogram slots are full (--hist-limit)`,
    },
    // The lines are histograms, no events: a stop that cannot print them
    // says only what was lost.
    graceMs: STOP_GRACE_MS,
  }, (session) => printHistograms(run, session));
}

/** The loop of a histogram run: prints the kernel's counts every --interval and at the end. */
async function printHistograms<P extends ProgramName>(
  run: HistogramRun<P>,
  session: Session<P>,
): Promise<number> {
  const { histogram, options } = run;
  const [, kind] = kindOf(histogram, options);
  const unit = kind.counts === "bytes" ? "bytes" : options.milliseconds ? "msecs" : "usecs";
  const counts = new HistogramCounts(session.object, histogram.decodeKey, options.hist_by);
  const out = new BatchWriter();
  const print = async (forgetIdle: boolean) => {
    out.push("");
    if (options.interval !== undefined) out.push(wallClock());
    const lines = histogramLines(counts.take(forgetIdle), options.hist_by, unit);
    for (const line of lines) out.push(line);
    await out.flush();
  };
  using _reports = session.reports.poll();
  let tick: ReturnType<typeof setTimeout> | undefined;
  try {
    out.push(`Tracing ${kind.what}... Hit Ctrl-C to end.`);
    await out.flush();
    session.begin();
    // Without --interval, the one print is at the end.
    const interval = options.interval;
    const nextPrint = () =>
      interval === undefined ? session.stopped : new Promise<undefined>((resolve) => {
        tick = setTimeout(() => resolve(undefined), interval * 1000);
      });
    let status: number | undefined;
    while ((status = await Promise.race([session.stopped, nextPrint()])) === undefined) {
      await print(true);
    }
    session.checkEnd();
    await print(false);
    return status;
  } finally {
    clearTimeout(tick);
  }
}
