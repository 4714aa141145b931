/**
 * A child of the cgroup v2 root for the test's processes, to show that
 * programs attached at the root see sockets of processes below it.
 *
 * @module
 */
import { cgroupV2Root } from "../src/bpf/cgroup_root.ts";
import { join } from "./paths.ts";

let created = 0;

/** A cgroup that lives until disposed (its processes must have exited by then). */
export class ChildCgroup {
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
  }

  /** Creates it under `parent` (default: the root). */
  static create(parent = cgroupV2Root()): ChildCgroup {
    if (parent === undefined) throw new Error("no cgroup v2 hierarchy is mounted");
    const path = join(parent, `tt-${Deno.pid}-${created++}`);
    Deno.mkdirSync(path);
    return new ChildCgroup(path);
  }

  /** A command prefix that moves the process into this cgroup, then execs the rest (same PID). */
  get prefix(): string[] {
    return ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", this.path];
  }

  [Symbol.dispose](): void {
    Deno.removeSync(this.path);
  }
}
