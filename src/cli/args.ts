/**
 * Command-line pieces the subcommands share: the value types (PID, UID, port
 * list, ring size), checked up front where bcc would crash or pass them to
 * the compiler, and the flags several tools share, each declared once.
 *
 * @module
 */
import { type CgroupDirectory, cgroupDirectory } from "../bpf/cgroup_dir.ts";
import { AF_INET, AF_INET6 } from "../events/record.ts";
import { type CommandParser, ValueError } from "./parser.ts";

const DIGITS = /^[0-9]+$/;

/** Value type: a process ID, 1..2^31-1. */
export function pid(value: string): number {
  const n = DIGITS.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 0x7fffffff)) {
    throw new ValueError(`invalid PID: '${value}' (expected a number from 1 to 2147483647)`);
  }
  return n;
}

/** Value type: a user ID, 0..2^32-2 (2^32-1 is "no user"). */
export function uid(value: string): number {
  const n = DIGITS.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 0xfffffffe)) {
    throw new ValueError(`invalid UID: '${value}' (expected a number from 0 to 4294967294)`);
  }
  return n;
}

/** Most ports a list may name (the size of the in-kernel filter maps). */
export const MAX_PORTS = 1024;

/** Value type: a comma-separated list of ports, each 1..65535. */
export function portList(value: string): number[] {
  const ports = value.split(",").map((part) => {
    const n = DIGITS.test(part.trim()) ? Number(part.trim()) : NaN;
    if (!(n >= 1 && n <= 65535)) {
      throw new ValueError(`invalid port: '${part}' (expected 1 to 65535)`);
    }
    return n;
  });
  if (ports.length > MAX_PORTS) {
    throw new ValueError(`too many ports: ${ports.length} (at most ${MAX_PORTS})`);
  }
  return ports;
}

/**
 * Default size of the event ring buffer, KiB. The reader drains it once 64
 * KiB wait (src/trace/attach.ts), so under a 40,000 events/s flood 1 MiB
 * leaves a quarter of a second of slack for a busy reader; its pages count in
 * the tracer's resident memory (twice: the data area is mapped twice to
 * unwrap records), so more would cost without helping.
 */
export const DEFAULT_RING_KB = 1024;

/** Value type: a ring buffer size in KiB, a power of two from 4 (one page) to 1048576. */
export function ringKb(value: string): number {
  const n = DIGITS.test(value) ? Number(value) : NaN;
  if (!(n >= 4 && n <= 1048576 && (n & (n - 1)) === 0)) {
    throw new ValueError(
      `invalid size: '${value}' (expected KiB as a power of two from 4 to 1048576)`,
    );
  }
  return n;
}

/** Adds --ring-kb: how much the kernel may buffer while user space is busy. */
export function addRingFlag(parser: CommandParser): void {
  parser.option(["--ring-kb"], {
    parse: ringKb,
    default: DEFAULT_RING_KB,
    metavar: "KB",
    help: `ring buffer size in KiB, a power of two (default ${DEFAULT_RING_KB}); ` +
      "events that find it full are counted and reported as lost",
  });
}

/** Adds -p/--pid. */
export function addPidFlag(parser: CommandParser): void {
  parser.option(["-p", "--pid"], { parse: pid, help: "trace this PID only" });
}

/** Adds -P/--port, a port list, with the tool's bcc help text (local or destination ports). */
export function addPortFlag(parser: CommandParser, help: string): void {
  parser.option(["-P", "--port"], { parse: portList, metavar: "PORT", help });
}

/** Adds -T/--time (HH:MM:SS of printing), with the tool's bcc help text. */
export function addTimeFlag(parser: CommandParser, help: string): void {
  parser.flag(["-T", "--time"], help);
}

/** Adds -t/--timestamp (seconds since the first printed event), with the tool's bcc help text. */
export function addTimestampFlag(parser: CommandParser, help: string): void {
  parser.flag(["-t", "--timestamp"], help);
}

/** Adds --json, in the exclusive `group` of formats if the tool has one. */
export function addJsonFlag(parser: CommandParser, help: string, group?: number): void {
  parser.flag(["--json"], help, group);
}

/** Adds the mutually exclusive -4/--ipv4 and -6/--ipv6 flags. */
export function addFamilyFlags(parser: CommandParser): void {
  const family = parser.exclusiveGroup();
  parser.flag(["-4", "--ipv4"], "trace IPv4 family only", family);
  parser.flag(["-6", "--ipv6"], "trace IPv6 family only", family);
}

/** The in-kernel family filter for the -4/-6 flags: 0 (both), AF_INET or AF_INET6. */
export function familyFilter(flags: { ipv4: boolean; ipv6: boolean }): number {
  return flags.ipv4 ? AF_INET : flags.ipv6 ? AF_INET6 : 0;
}

/** The `.rodata` filters of -p and -4/-6, which every tool's object has. */
export function pidAndFamilyGlobals(flags: { pid?: number; ipv4: boolean; ipv6: boolean }) {
  return { target_pid: flags.pid ?? 0, target_family: familyFilter(flags) };
}

/** Value type: a cgroup v2 directory (--cgroup). */
export function cgroupPath(value: string): CgroupDirectory {
  try {
    return cgroupDirectory(value);
  } catch (error) {
    throw new ValueError((error as Error).message);
  }
}

/** Value type: the path of a pinned BPF map (--cgroupmap, --mntnsmap), opened at run time. */
export function mapPath(value: string): string {
  if (value === "") throw new ValueError("expected the path of a pinned BPF map");
  return value;
}

/** Value type: seconds, a positive number (--duration). */
export function seconds(value: string): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 && n <= 31536000)) {
    throw new ValueError(`invalid duration: '${value}' (expected seconds, more than 0)`);
  }
  return n;
}

/** Value type: seconds from 0.1 to 86400 (--interval). */
export function interval(value: string): number {
  const n = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0.1 && n <= 86400)) {
    throw new ValueError(`invalid interval: '${value}' (expected seconds from 0.1 to 86400)`);
  }
  return n;
}

/** Value type: one of `choices` (argparse's wording when it is not). */
export function choice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      const names = choices.map((c) => `'${c}'`).join(", ");
      throw new ValueError(`invalid choice: '${value}' (choose from ${names})`);
    }
    return value as T;
  };
}

/** What --hist-by keys histograms on. */
export const HIST_KEYS = ["pid", "comm", "port"] as const;
/** One of {@linkcode HIST_KEYS}. */
export type HistKeyName = typeof HIST_KEYS[number];

/** The default of --hist-limit: the slots of about 300 histograms. */
export const DEFAULT_HIST_LIMIT = 10240;

/** The flags of histogram mode (src/trace/histograms.ts). */
export interface HistogramOptions {
  /**
   * --hist: the name of what is counted, or true for a tool that counts one
   * thing; undefined without --hist (one line per event).
   */
  hist: string | boolean | undefined;
  hist_by: HistKeyName | undefined;
  interval: number | undefined;
  milliseconds: boolean;
  hist_limit: number;
}

/** Value type: a map's most entries, 1 to 1048576, which the message calls `what`. */
export function entryLimit(what: string): (value: string) => number {
  return (value) => {
    const n = DIGITS.test(value) ? Number(value) : NaN;
    if (!(n >= 1 && n <= 1048576)) {
      throw new ValueError(`invalid limit: '${value}' (expected 1 to 1048576 ${what})`);
    }
    return n;
  };
}

/**
 * Adds --hist, --hist-by, --interval, -m/--milliseconds and --hist-limit.
 * `kinds` are what --hist can count: one (a flag), or several (`--hist` is
 * the first, `--hist NAME` names one); `help` says what --hist does, `port`
 * which port --hist-by port means.
 */
export function addHistogramFlags(
  parser: CommandParser,
  { kinds, help, port }: { kinds: readonly string[]; help: string; port: string },
): void {
  if (kinds.length === 1) parser.flag(["--hist"], help);
  else {
    parser.option(["--hist"], {
      parse: choice(kinds),
      const: kinds[0],
      metavar: kinds.join("|"),
      help,
    });
  }
  parser.option(["--hist-by"], {
    parse: choice(HIST_KEYS),
    metavar: HIST_KEYS.join("|"),
    help: `with --hist: one histogram per process, process name, or port (${port})`,
  });
  parser.option(["--interval"], {
    parse: interval,
    metavar: "SECONDS",
    help: "with --hist: print the histograms every SECONDS, each time counting afresh",
  });
  parser.flag(
    ["-m", "--milliseconds"],
    "with --hist: times in milliseconds (default microseconds)",
  );
  parser.option(["--hist-limit"], {
    parse: entryLimit("slots"),
    metavar: "N",
    default: DEFAULT_HIST_LIMIT,
    help: `with --hist: most histogram slots kept in the kernel (default ${DEFAULT_HIST_LIMIT}); ` +
      "what finds none is counted and reported",
  });
}

/** The flags that choose what is traced and for how long, which every tool has. */
export interface ScopeOptions {
  cgroup: CgroupDirectory | undefined;
  cgroupmap: string | undefined;
  mntnsmap: string | undefined;
  duration: number | undefined;
  /** The command after `--`: command mode. */
  command: string[] | undefined;
}

/**
 * Adds --cgroup, --cgroupmap, --mntnsmap, --duration and `-- CMD [ARGS...]`
 * (src/tools/tool.ts adds them to every tool's parser).
 */
export function addScopeFlags(parser: CommandParser): void {
  parser.option(["--cgroup"], {
    parse: cgroupPath,
    metavar: "PATH",
    help: "trace only sockets of this cgroup v2 directory and the cgroups below it",
  });
  // bcc's two pinned-map filters: the same flag but for what the map lists.
  for (
    const [flag, listed] of [
      ["--cgroupmap", "cgroups listed in this pinned BPF map (cgroup v2 ids)"],
      ["--mntnsmap", "mount namespaces listed in this pinned BPF map"],
    ]
  ) {
    parser.option([flag], {
      parse: mapPath,
      metavar: "MAPPATH",
      help: `trace only processes in the ${listed}`,
    });
  }
  parser.option(["--duration"], {
    parse: seconds,
    metavar: "SECONDS",
    help: "stop after this many seconds (exit status 0)",
  });
  parser.remainder("command", {
    metavar: "CMD",
    help: "after --: run CMD [ARGS...], trace only it and every process it starts, " +
      "and exit with its status when it ends",
  });
}

/** The --help examples of the scope flags, for tool `name`. */
export function scopeExamples(name: string): [string, string][] {
  return [
    [
      `tcptools ${name} --cgroup /sys/fs/cgroup/system.slice`,
      "only sockets of that cgroup v2 and below",
    ],
    [
      `tcptools ${name} --cgroupmap /sys/fs/bpf/cgroups`,
      "only processes of the cgroups in the map",
    ],
    [
      `tcptools ${name} --mntnsmap /sys/fs/bpf/mntns`,
      "only processes of the mount namespaces in the map",
    ],
    [`tcptools ${name} --duration 60`, "stop after a minute"],
    [`tcptools ${name} --json -- make test`, "run make test, trace only it; exit with its status"],
  ];
}
