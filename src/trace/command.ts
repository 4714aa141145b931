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

/** Signals to tcptools that are passed on to the command. */
const PASSED_SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

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
function invokingUser(): { uid: string; gid: string } | undefined {
  const uid = Deno.env.get("SUDO_UID");
  const gid = Deno.env.get("SUDO_GID");
  if (Deno.uid() !== 0 || !uid || !gid || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return;
  if (uid === "0") return;
  return { uid, gid };
}

/**
 * The command: started once tracing is attached, in its cgroup, as the user
 * that ran sudo if any (setpriv, with that user's groups). From creation to
 * disposal, INT, TERM and HUP to tcptools go to the command; one that comes
 * before the command started ends the run instead, and it never starts.
 */
export class TracedCommand implements Disposable {
  #child: Deno.ChildProcess | undefined;
  #signalled: Deno.Signal | undefined;
  readonly #listeners = PASSED_SIGNALS.map((signal) => [signal, () => this.#pass(signal)] as const);

  constructor(readonly argv: string[], readonly cgroup: CommandCgroup) {
    for (const [signal, listener] of this.#listeners) Deno.addSignalListener(signal, listener);
  }

  #pass(signal: Deno.Signal): void {
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
    const user = invokingUser();
    const asUser = user
      ? ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--"]
      : [];
    try {
      this.#child = new Deno.Command("sh", {
        args: ["-c", ENTER_CGROUP, "sh", this.cgroup.directory.path, ...asUser, ...this.argv],
        env: user ? userEnvironment(user.uid) : {},
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
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
  }
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** USER, LOGNAME and HOME of the sudo user (sudo may have set HOME to root's). */
function userEnvironment(uid: string): Record<string, string> {
  const name = Deno.env.get("SUDO_USER");
  if (!name) return {};
  const home = Deno.readTextFileSync("/etc/passwd").split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields[0] === name && fields[2] === uid)?.[5];
  return { USER: name, LOGNAME: name, ...(home ? { HOME: home } : {}) };
}
