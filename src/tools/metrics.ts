/**
 * `tcptools metrics`: counters and histograms of TCP connects, accepts and
 * sessions, counted in the kernel (bpf/metrics.bpf.c) and served in the
 * Prometheus text format at /metrics (--listen), or written to a file for
 * node_exporter's textfile collector (--textfile), or both.
 *
 * It is not a line-per-event tool: it runs in the session every run shares
 * (trace/session.ts) with a loop of its own in place of the event loop,
 * since no event reaches user space.
 *
 * @module
 */
import { addScopeFlags, entryLimit, interval, type ScopeOptions } from "../cli/args.ts";
import { UsageError } from "../cli/errors.ts";
import { CommandParser, ValueError } from "../cli/parser.ts";
import { MetricsServer } from "../metrics/http_server.ts";
import { type ListenAddress, listenAddress } from "../metrics/listen_address.ts";
import { type LabelName, LABELS, TcpMetrics } from "../metrics/tcp_metrics.ts";
import { IdleLabelSets } from "../metrics/idle_label_sets.ts";
import { Textfile } from "../metrics/textfile.ts";
import { exposition } from "../output/exposition.ts";
import { NO_EVENTS_RING_BYTES } from "../trace/attach.ts";
import { EnvironmentError } from "../trace/environment.ts";
import { runSession, type Session } from "../trace/session.ts";
import { SESSION_COUNTERS, SESSION_KERNEL } from "./_session_counters.ts";

/** Flags of `tcptools metrics`. */
export interface MetricsOptions extends ScopeOptions {
  listen: ListenAddress | undefined;
  textfile: string | undefined;
  interval: number;
  label: LabelName[] | undefined;
  label_limit: number;
  label_idle: number;
}

/** The default cap on label sets (bpf/metrics.bpf.c's label_sets). */
const DEFAULT_LABEL_LIMIT = 4096;
/** The default time a label set may count nothing before it is removed (metrics/idle_label_sets.ts). */
const DEFAULT_LABEL_IDLE_S = 300;

/** Value type of --label: a comma-separated list of LABELS, each once. */
function labelList(value: string): LabelName[] {
  const names = value.split(",");
  for (const name of names) {
    if (!(LABELS as readonly string[]).includes(name)) {
      throw new ValueError(`invalid label: '${name}' (expected some of ${LABELS.join(",")})`);
    }
  }
  if (new Set(names).size !== names.length) {
    throw new ValueError(`invalid labels: '${value}' (each at most once)`);
  }
  return names as LabelName[];
}

/** Value type of --textfile: a path, not empty. */
function textfilePath(value: string): string {
  if (value === "" || value.endsWith("/")) {
    throw new ValueError(`invalid file: '${value}' (expected a file path)`);
  }
  return value;
}

/** Deno's message of a system error without its "(os error N): call 'path'" tail. */
function osMessage(error: Error): string {
  return error.message.replace(/ \(os error \d+\).*$/s, "");
}

/** The description of `tcptools metrics`. */
export const metrics = {
  name: "metrics",
  summary: "Prometheus metrics of TCP connects, accepts and sessions",
  description: "Count TCP connects, accepts and sessions in the kernel and serve them as " +
    "Prometheus metrics at /metrics, or write them to a file for node_exporter",
  examples: [
    ["tcptools metrics --listen 9100", "serve http://127.0.0.1:9100/metrics"],
    ["tcptools metrics --listen 0.0.0.0:9100", "serve on every address (open to other hosts)"],
    [
      "tcptools metrics --listen 9100 --label comm,rport",
      "connects and sessions per process and remote port",
    ],
    [
      "tcptools metrics --textfile /var/lib/node_exporter/tcptools.prom",
      "rewrite the file every 15 seconds",
    ],
    [
      "tcptools metrics --listen 9100 --cgroup /sys/fs/cgroup/system.slice",
      "only sockets of that cgroup v2 and below",
    ],
    [
      "tcptools metrics --textfile make.prom -- make test",
      "count what make test does; exit with its status",
    ],
  ] as [string, string][],
  kernel: SESSION_KERNEL,
  flags(parser: CommandParser): void {
    parser.option(["--listen"], {
      parse: listenAddress,
      metavar: "[ADDR:]PORT",
      help: "serve /metrics on this port (address 127.0.0.1 unless given)",
    });
    parser.option(["--textfile"], {
      parse: textfilePath,
      metavar: "PATH",
      help: "write the metrics to this file every --interval seconds (replaced by a rename)",
    });
    parser.option(["--interval"], {
      parse: interval,
      metavar: "SECONDS",
      default: 15,
      help: "how often --textfile is written (default 15)",
    });
    parser.option(["--label"], {
      parse: labelList,
      metavar: "LABELS",
      help: `also label connects and sessions by some of ${LABELS.join(",")} (comma-separated)`,
    });
    parser.option(["--label-limit"], {
      parse: entryLimit("label sets"),
      metavar: "N",
      default: DEFAULT_LABEL_LIMIT,
      help: `most label sets kept (default ${DEFAULT_LABEL_LIMIT}); the rest are counted in ` +
        'series labeled overflow="true"',
    });
    parser.option(["--label-idle"], {
      parse: interval,
      metavar: "SECONDS",
      default: DEFAULT_LABEL_IDLE_S,
      help:
        `remove a label set that counted nothing for SECONDS (default ${DEFAULT_LABEL_IDLE_S}), ` +
        "making room for new ones",
    });
  },
  run: runMetrics,
  parser: () => metricsParser(),
};

/**
 * Its parser: its flags and the scope flags (the tools' parserOf would add
 * scope examples that lack --listen or --textfile).
 */
export function metricsParser(): CommandParser {
  const parser = new CommandParser({
    prog: `tcptools ${metrics.name}`,
    description: metrics.description,
    examples: metrics.examples,
  });
  metrics.flags(parser);
  addScopeFlags(parser);
  return parser;
}

/** Parses argv for `tcptools metrics`; throws ArgumentError, HelpRequested or UsageError. */
export function parseMetricsOptions(argv: string[]): MetricsOptions {
  const options = metricsParser().parse<MetricsOptions>(argv);
  if (!options.listen && !options.textfile) {
    throw new UsageError("give --listen [ADDR:]PORT, --textfile PATH, or both");
  }
  return options;
}

function listen(address: ListenAddress, render: (openMetrics: boolean) => string): MetricsServer {
  try {
    return MetricsServer.listen(address, render);
  } catch (error) {
    const where = address.hostname.includes(":")
      ? `[${address.hostname}]:${address.port}`
      : `${address.hostname}:${address.port}`;
    const why = error instanceof Error ? osMessage(error) : error;
    throw new EnvironmentError(`listen on ${where}: ${why}`);
  }
}

/** The directory of --textfile, opened once (metrics/textfile.ts says why). */
function openTextfile(path: string, failed: (error: unknown) => Error): Textfile {
  try {
    return Textfile.open(path);
  } catch (error) {
    throw failed(error);
  }
}

/** Runs `tcptools metrics` with `argv` until stopped; resolves to the exit status. */
export function runMetrics(argv: string[]): Promise<number> {
  const options = parseMetricsOptions(argv);
  const labels = options.label ?? [];
  return runSession({
    tool: `tcptools ${metrics.name}`,
    program: "metrics",
    globals: {
      label_comm: labels.includes("comm") ? 1 : 0,
      label_lport: labels.includes("lport") ? 1 : 0,
      label_rport: labels.includes("rport") ? 1 : 0,
      label_cgroup: labels.includes("cgroup") ? 1 : 0,
    },
    mapSizes: { label_sets: options.label_limit },
    ringBytes: NO_EVENTS_RING_BYTES,
    counters: {
      ...SESSION_COUNTERS,
      label_overflow: (n, total) =>
        `${n} connects, accepts or sessions counted without their labels (${total} in total): ` +
        `the ${options.label_limit} label sets are full (--label-limit)`,
    },
    scope: options,
  }, (session) => serveMetrics(options, session));
}

/** The loop of `tcptools metrics`: serves and writes the kernel's counts until stopped. */
async function serveMetrics(
  options: MetricsOptions,
  session: Session<"metrics">,
): Promise<number> {
  const tool = `tcptools ${metrics.name}`;
  const { object, reports } = session;
  const labels = options.label ?? [];
  const failedWrite = (error: unknown) => {
    const why = error instanceof Error ? osMessage(error) : error;
    return new EnvironmentError(`write ${options.textfile}: ${why}`);
  };
  using textfile = options.textfile ? openTextfile(options.textfile, failedWrite) : undefined;
  const tcp = new TcpMetrics(object, labels);
  const idle = new IdleLabelSets(object, options.label_idle * 1000);
  const render = (openMetrics: boolean) => exposition(tcp.read(reports.totals()), openMetrics);
  const write = () => {
    try {
      textfile!.write(render(false));
    } catch (error) {
      throw failedWrite(error);
    }
  };
  // A later write that fails (a full disk) is reported, and the next one tried.
  const rewrite = () => {
    try {
      write();
    } catch (error) {
      Deno.stderr.writeSync(new TextEncoder().encode(`${tool}: ${(error as Error).message}\n`));
    }
  };

  const server = options.listen ? listen(options.listen, render) : undefined;
  using _reports = reports.poll();
  const timers: ReturnType<typeof setInterval>[] = [];
  const sweep = () => {
    try {
      idle.sweep();
    } catch (error) {
      Deno.stderr.writeSync(new TextEncoder().encode(`${tool}: ${(error as Error).message}\n`));
    }
  };
  if (labels.length > 0) timers.push(setInterval(sweep, idle.periodMs));
  let written = false;
  try {
    if (textfile) {
      write();
      written = true;
      timers.push(setInterval(rewrite, options.interval * 1000));
    }
    session.begin();
    // accept() failed for good (http_server.ts): the endpoint is gone, so is the tool.
    server?.failed.catch((error) => {
      session.fail(new EnvironmentError((error as Error).message));
    });
    const status = await session.stopped;
    session.checkEnd();
    return status;
  } finally {
    for (const timer of timers) clearInterval(timer);
    await server?.close();
    if (written) rewrite(); // the file keeps the last counts
  }
}
