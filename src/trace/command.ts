/**
 * Command mode (`tcptools <tool> -- CMD [ARGS...]`): CMD runs in a cgroup v2
 * of its own, which tcptools creates under the hierarchy's root and removes
 * at the end. Every process CMD starts is born in that cgroup and stays there
 * (double-forked daemons included: leaving a cgroup takes a write to
 * cgroup.procs), and so do the sockets they create; the in-kernel --cgroup
 * check then traces exactly them.
 *
 * @module
 */
import { cgroupV2Root } from "../bpf/cgroup_root.ts";
import { type CgroupDirectory, cgroupDirectory } from "../bpf/cgroup_dir.ts";
import { commandExecPath } from "./command_exec.ts";
import { EnvironmentError } from "./environment.ts";
import { sudoUser, userEnvironment } from "./sudo_user.ts";
import { onStopSignals, SIGNAL_NUMBERS, type StopSignal } from "./stop_signals.ts";

/** The cgroup of the command; removed when disposed. */
export class CommandCgroup {
  private constructor(readonly directory: CgroupDirectory) {}

  /** Creates `tcptools-<pid>` under the cgroup v2 root (which must be mounted). */
  static create(): CommandCgroup {
    const root = cgroupV2Root();
    if (root === undefined) {
      throw new EnvironmentError("command mode needs the cgroup v2 hierarchy mounted (cgroup2)");
    }
    const path = `${root.replace(/\/$/, "")}/tcptools-${Deno.pid}`;
    try {
      try {
        Deno.mkdirSync(path);
      } catch (error) {
        // Left by an earlier tcptools of the same pid: taken over if empty (rmdir fails if not).
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        Deno.removeSync(path);
        Deno.mkdirSync(path);
      }
    } catch (error) {
      throw new EnvironmentError(`cannot create the command's cgroup ${path}: ${error}`);
    }
    return new CommandCgroup(cgroupDirectory(path));
  }

  /**
   * Removes the cgroup. Processes of the command still running (daemons) go
   * back to the cgroup tcptools runs in first: a cgroup with processes in
   * it cannot be removed. One that exits meanwhile (ESRCH) is passed over,
   * and one forked meanwhile is moved on the next round.
   */
  [Symbol.dispose](): void {
    const { path } = this.directory;
    const own = /^0::(.*)$/m.exec(Deno.readTextFileSync("/proc/self/cgroup"))?.[1] ?? "/";
    const home = `${path.slice(0, path.lastIndexOf("/"))}${own === "/" ? "" : own}`;
    for (let round = 0; round < 100; round++) {
      try {
        Deno.removeSync(path);
        return;
      } catch { /* not empty yet */ }
      let left: string[];
      try {
        left = Deno.readTextFileSync(`${path}/cgroup.procs`).split("\n").filter((p) => p);
      } catch {
        return; // gone
      }
      for (const pid of left) {
        try {
          Deno.writeTextFileSync(`${home}/cgroup.procs`, pid);
        } catch { /* exited meanwhile */ }
      }
    }
  }
}

/**
 * The command: started once tracing is attached, in its cgroup, as the user
 * that ran sudo if any (through command_exec.c). From creation to
 * disposal, INT, TERM and HUP to tcptools go to the command; one that comes
 * before the command started ends the run instead, and it never starts.
 */
export class TracedCommand implements Disposable {
  #child: Deno.ChildProcess | undefined;
  #signalled: StopSignal | undefined;
  readonly #signals: Disposable;

  readonly cgroup: CommandCgroup;
  readonly #launcher: string;
  readonly #args: string[];
  readonly #environment: Record<string, string>;

  /**
   * Checks who CMD is to run as and writes the launcher before anything is
   * traced (a bad SUDO_UID is one line, with nothing attached), then creates
   * the cgroup.
   */
  constructor(readonly argv: string[]) {
    const start = startEnvironment();
    const user = sudoUser(start);
    this.#environment = user ? userEnvironment(start, user) : start;
    this.#launcher = commandExecPath();
    const drop = user ? [user.uid, user.gid, user.groups.join(",")] : ["-", "-", "-"];
    this.cgroup = CommandCgroup.create();
    this.#args = [this.cgroup.directory.path, ...drop.map(String), "--", ...argv];
    this.#signals = onStopSignals((signal) => this.#pass(signal));
  }

  #pass(signal: StopSignal): void {
    if (this.#child === undefined) {
      this.#signalled ??= signal;
      return;
    }
    try {
      this.#child.kill(signal);
    } catch { /* it has just exited */ }
  }

  /** Starts it; resolves to its exit status (128+N when killed by signal N). */
  async run(): Promise<number> {
    if (this.#signalled) return 128 + SIGNAL_NUMBERS[this.#signalled];
    try {
      this.#child = new Deno.Command(this.#launcher, {
        args: this.#args,
        clearEnv: true,
        env: this.#environment,
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      throw new EnvironmentError(`cannot start the command: ${error}`);
    }
    return (await this.#child.status).code;
  }

  [Symbol.dispose](): void {
    this.#signals[Symbol.dispose]();
  }
}

/**
 * The environment tcptools was started with. The single-file build's
 * launcher gives the runtime an allow-listed one and keeps the original for
 * the command in a memfd named by TCPTOOLS_COMMAND_ENV_FD (launcher.c,
 * save_environment); from source, the runtime's environment is the original.
 */
function startEnvironment(): Record<string, string> {
  const fd = Deno.env.get("TCPTOOLS_COMMAND_ENV_FD");
  if (fd === undefined || !/^\d+$/.test(fd)) return Deno.env.toObject();
  const text = new TextDecoder().decode(Deno.readFileSync(`/proc/self/fd/${fd}`));
  const environment: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) environment[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return environment;
}
