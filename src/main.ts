/**
 * `tcptools <subcommand>`: dispatch, and the one place where failures become
 * a single line on stderr and an exit status (never a stack trace).
 *
 * @module
 */
import { manuals } from "../gen/manuals.ts";
import { BpfError, BpfUsageError } from "./bpf/errors.ts";
import { Errno } from "./ffi/libc.ts";
import { LibraryLoadError } from "./ffi/embedded_libbpf.ts";
import { BatchWriter, OutputError } from "./output/writer.ts";
import { VERSION } from "./version.ts";
import { EnvironmentError } from "./trace/environment.ts";
import { ignoreFileSizeSignal } from "./trace/file_size_signal.ts";
import { type Command, COMMANDS, findCommand } from "./tools/registry.ts";
import { UsageError } from "./cli/errors.ts";
import { ArgumentError, HelpRequested } from "./cli/parser.ts";

const HELP = `usage: tcptools <command> [options]

Trace TCP connections with eBPF, from kernel tracepoints alone.

commands:
${COMMANDS.map((tool) => `  ${tool.name.padEnd(9)} ${tool.summary}`).join("\n")}

options:
  -h, --help     show this help message and exit
  -V, --version  show the version and exit

Run 'tcptools <command> --help' for the options of a command,
'tcptools help <command>' for its manual, and 'tcptools help common'
for what every command shares.
`;

function hint(error: BpfError, tool: Command | undefined): string {
  const kernel = tool?.kernel ?? "Linux 5.8+ built with BTF";
  if (error.code === Errno.ENOMEM) {
    // Since Linux 5.11 BPF maps and programs are charged to the memory cgroup.
    return "not enough memory for the BPF maps and programs: raise the memory limit " +
      "(the cgroup's memory.max or memory.limit_in_bytes; ulimit -l before Linux 5.11) " +
      "or lower --ring-kb";
  }
  const refused = error.code === Errno.EPERM || error.code === Errno.EACCES;
  // Finding, opening or attaching to a syscalls:* tracefs event (src/bpf/tracepoint.ts).
  if (error.operation.startsWith("mount a private tracefs") && refused) {
    return "without CAP_SYS_ADMIN, tracefs must be mounted: mount -t tracefs nodev /sys/kernel/tracing";
  }
  if (/\bsyscalls\//.test(error.operation)) {
    return refused
      ? "the kernel refused the system call tracepoints: run as root (kernel lockdown may forbid tracing)"
      : "needs the kernel's system call tracepoints (CONFIG_FTRACE_SYSCALLS)";
  }
  if (error.operation.startsWith("attach")) {
    return refused
      ? "the kernel refused to attach to the tracepoint: run as root (kernel lockdown may forbid tracing)"
      : `cannot attach to ${error.hook ?? "the tracepoint"}: needs ${kernel}`;
  }
  if (error.operation.startsWith("load")) {
    if (refused) {
      return "the kernel refused the BPF programs: run as root; check kernel lockdown and kernel.unprivileged_bpf_disabled";
    }
    return `the kernel rejected the BPF programs: needs ${kernel} (TCPTOOLS_DEBUG=1 prints libbpf's log)`;
  }
  return "";
}

function describe(
  error: unknown,
  tool: Command | undefined,
): { line: string; status: number; usage?: string } {
  if (error instanceof ArgumentError) {
    return { line: `error: ${error.message}`, status: 2, usage: error.usage };
  }
  if (error instanceof UsageError) {
    return { line: `error: ${error.message}\nTry 'tcptools --help'.`, status: 2 };
  }
  if (
    error instanceof EnvironmentError || error instanceof LibraryLoadError ||
    error instanceof OutputError
  ) {
    return { line: error.message, status: 1 };
  }
  if (error instanceof BpfError) {
    const why = hint(error, tool);
    return { line: why ? `${error.message}: ${why}` : error.message, status: 1 };
  }
  if (error instanceof BpfUsageError) {
    return { line: `internal error: ${error.message}`, status: 1 };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { line: `internal error: ${message}`, status: 1 };
}

/** Writes `text` to stdout whole; a reader that went away (`| head`) is a normal end, as in trace. */
async function print(text: string): Promise<void> {
  const out = new BatchWriter();
  out.push(text.replace(/\n$/, ""));
  try {
    await out.flush();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/**
 * `tcptools help [name]`: the list of commands, or a manual (docs/<name>.md,
 * embedded by the build: a command's, or `common`) as it is: Markdown reads
 * as plain text, and what is printed is then the file, byte for byte.
 */
async function help(args: string[]): Promise<number> {
  if (args.length === 0 || (args.length === 1 && ["-h", "--help"].includes(args[0]))) {
    await print(HELP);
    return 0;
  }
  const manual = args.length === 1 ? manuals.get(args[0]) : undefined;
  if (manual === undefined) {
    const names = [...manuals.keys()].join(", ");
    const line = `tcptools help: error: no manual for '${args.join(" ")}' (manuals: ${names})\n`;
    Deno.stderr.writeSync(new TextEncoder().encode(line));
    return 2;
  }
  await print(manual);
  return 0;
}

/** Runs tcptools with `argv` (without the program name); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const tool = command === undefined ? undefined : findCommand(command);
  ignoreFileSizeSignal();
  try {
    if (command === undefined) {
      Deno.stderr.writeSync(new TextEncoder().encode(HELP));
      return 2;
    }
    if (command === "-h" || command === "--help") {
      await print(HELP);
      return 0;
    }
    if (command === "-V" || command === "--version") {
      await print(`tcptools ${VERSION}\n`);
      return 0;
    }
    if (command === "help") return await help(rest);
    if (tool === undefined) throw new UsageError(`unknown command '${command}'`);
    return await tool.run(rest);
  } catch (error) {
    if (error instanceof HelpRequested) {
      await print(error.text);
      return 0;
    }
    if (Deno.env.get("TCPTOOLS_DEBUG")) console.error(error);
    const { line, status, usage = "" } = describe(error, tool);
    const prefix = tool ? `tcptools ${tool.name}` : "tcptools";
    Deno.stderr.writeSync(new TextEncoder().encode(`${usage}${prefix}: ${line}\n`));
    return status;
  }
}
