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
import { EnvironmentError } from "./environment.ts";
import { onStopSignals, SIGNAL_NUMBERS, type StopSignal } from "./stop_signals.ts";

/**
 * The command's first process moves itself into the cgroup, then execs the
 * rest: CMD is in the cgroup from its first instruction. (Deno cannot run
 * code between fork and exec, nor clone3 with CLONE_INTO_CGROUP.)
 */
const ENTER_CGROUP = 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"';

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
      Deno.mkdirSync(path);
    } catch (error) {
      throw new EnvironmentError(`cannot create the command's cgroup ${path}: ${error}`);
    }
    return new CommandCgroup(cgroupDirectory(path));
  }

  /**
   * Removes the cgroup. Processes of the command still running (daemons) go
   * back to the cgroup tcptools runs in first: a cgroup with processes in
   * it cannot be removed.
   */
  [Symbol.dispose](): void {
    const { path } = this.directory;
    try {
      const left = Deno.readTextFileSync(`${path}/cgroup.procs`).split("\n").filter((p) => p);
      if (left.length > 0) {
        const own = /^0::(.*)$/m.exec(Deno.readTextFileSync("/proc/self/cgroup"))?.[1] ?? "/";
        const home = `${path.slice(0, path.lastIndexOf("/"))}${own === "/" ? "" : own}`;
        for (const pid of left) Deno.writeTextFileSync(`${home}/cgroup.procs`, pid);
      }
      Deno.removeSync(path);
    } catch {
      // Left behind (e.g. a process that forked meanwhile): an empty cgroup is harmless.
    }
  }
}

/** The user that ran sudo, if tcptools runs as root under sudo. */
function invokingUser(
  environment: Record<string, string>,
): { uid: string; gid: string; name?: string } | undefined {
  const uid = environment.SUDO_UID;
  const gid = environment.SUDO_GID;
  if (Deno.uid() !== 0 || !uid || !gid || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return;
  if (uid === "0") return;
  return { uid, gid, name: environment.SUDO_USER };
}

/**
 * The command: started once tracing is attached, in its cgroup, as the user
 * that ran sudo if any (setpriv, with that user's groups). From creation to
 * disposal, INT, TERM and HUP to tcptools go to the command; one that comes
 * before the command started ends the run instead, and it never starts.
 */
export class TracedCommand implements Disposable {
  #child: Deno.ChildProcess | undefined;
  #signalled: StopSignal | undefined;
  readonly #signals: Disposable;

  constructor(readonly argv: string[], readonly cgroup: CommandCgroup) {
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
    const start = startEnvironment();
    const user = invokingUser(start);
    const asUser = user
      ? ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--"]
      : [];
    try {
      // An absolute path: the runtime's environment has no PATH (launcher.c); the
      // command's has the one tcptools was started with.
      this.#child = new Deno.Command("/bin/sh", {
        args: ["-c", ENTER_CGROUP, "sh", this.cgroup.directory.path, ...asUser, ...this.argv],
        clearEnv: true,
        env: { ...start, ...(user ? userEnvironment(user) : {}) },
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

/** USER, LOGNAME and HOME of the sudo user (sudo may have set HOME to root's). */
function userEnvironment({ uid, name }: { uid: string; name?: string }): Record<string, string> {
  if (!name) return {};
  const home = Deno.readTextFileSync("/etc/passwd").split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields[0] === name && fields[2] === uid)?.[5];
  return { USER: name, LOGNAME: name, ...(home ? { HOME: home } : {}) };
}
