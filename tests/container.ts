/**
 * Two "containers" for the scope tests: each a network namespace and a
 * cgroup of its own (A's one level deeper, in a cgroup of its own), joined
 * by a veth pair; every process started in one
 * also gets its own PID and mount namespaces (unshare), so its PID inside
 * differs from the host PID the tracer reports.
 *
 * @module
 */
import { ChildCgroup } from "./child_cgroup.ts";
import { NetworkNamespace } from "./netns.ts";
import { until } from "./harness.ts";

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** One container: its namespace, cgroup and address on the veth link. */
export class Container {
  constructor(
    readonly netns: NetworkNamespace,
    readonly cgroup: ChildCgroup,
    readonly address: string,
  ) {}

  /** A command prefix: into the cgroup and the network namespace, then new PID and mount namespaces. */
  get prefix(): string[] {
    return [
      ...this.cgroup.prefix,
      ...this.netns.prefix,
      ...["unshare", "--pid", "--mount", "--fork", "--kill-child", "--"],
    ];
  }

  /** The cgroup's id (its directory's inode number). */
  get cgroupId(): number {
    return Deno.statSync(this.cgroup.path).ino!;
  }
}

/** The host PID of the process `prefix`'s unshare (PID `unsharePid`) forked. */
export async function hostPidUnder(unsharePid: number): Promise<number> {
  const children = () => {
    try {
      return Deno.readTextFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`).trim();
    } catch {
      return "";
    }
  };
  await until(`the child of unshare ${unsharePid}`, () => children() !== "");
  return Number(children().split(" ")[0]);
}

/** The id of a process's mount namespace (the inode number of /proc/PID/ns/mnt). */
export function mountNamespaceOf(pid: number): number {
  return Deno.statSync(`/proc/${pid}/ns/mnt`).ino!;
}

/** Two containers on one veth link; removed when disposed (their processes must have ended). */
export class ContainerPair {
  private constructor(
    readonly a: Container,
    readonly b: Container,
    /** The parent of A's cgroup. */
    readonly aboveA: ChildCgroup,
  ) {}

  static async create(): Promise<ContainerPair> {
    const subnet = `10.213.${Deno.pid % 250}`;
    const nsA = await NetworkNamespace.create();
    const nsB = await NetworkNamespace.create();
    const [vethA, vethB] = [`tt${Deno.pid}a`, `tt${Deno.pid}b`];
    try {
      await run("ip", [
        "link",
        "add",
        vethA,
        "netns",
        nsA.name,
        "type",
        "veth",
        "peer",
        "name",
        vethB,
        "netns",
        nsB.name,
      ]);
      for (const [ns, veth, host] of [[nsA, vethA, 1], [nsB, vethB, 2]] as const) {
        await run("ip", ["-n", ns.name, "addr", "add", `${subnet}.${host}/24`, "dev", veth]);
        await run("ip", ["-n", ns.name, "link", "set", veth, "up"]);
      }
    } catch (error) {
      await nsA[Symbol.asyncDispose]();
      await nsB[Symbol.asyncDispose]();
      throw error;
    }
    const aboveA = ChildCgroup.create();
    return new ContainerPair(
      new Container(nsA, ChildCgroup.create(aboveA.path), `${subnet}.1`),
      new Container(nsB, ChildCgroup.create(), `${subnet}.2`),
      aboveA,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const container of [this.a, this.b]) {
      await container.netns[Symbol.asyncDispose](); // deletes the veth pair with it
      container.cgroup[Symbol.dispose]();
    }
    this.aboveA[Symbol.dispose]();
  }
}

/** A BPF file system of the test's own with hash maps pinned in it (bcc's --cgroupmap, --mntnsmap). */
export class PinnedMaps {
  private constructor(readonly dir: string) {}

  static async create(): Promise<PinnedMaps> {
    const dir = Deno.makeTempDirSync({ prefix: "tcptools-bpffs-" });
    await run("mount", ["-t", "bpf", "bpf", dir]);
    return new PinnedMaps(dir);
  }

  /** Pins a new hash map of u64 keys and values named `name`, holding `keys`; returns its path. */
  async map(name: string, keys: number[]): Promise<string> {
    const path = `${this.dir}/${name}`;
    await run("bpftool", [
      "map",
      "create",
      path,
      "type",
      "hash",
      "key",
      "8",
      "value",
      "8",
      "entries",
      "16",
      "name",
      name,
    ]);
    for (const key of keys) await this.add(path, key);
    return path;
  }

  /** Adds `key` to the pinned map at `path` (the tracer sees it at once). */
  async add(path: string, key: number): Promise<void> {
    const bytes = (n: number) =>
      [...new Uint8Array(new BigUint64Array([BigInt(n)]).buffer)].map(String);
    await run("bpftool", [
      "map",
      "update",
      "pinned",
      path,
      "key",
      ...bytes(key),
      "value",
      ...bytes(1),
    ]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await run("umount", [this.dir]);
    Deno.removeSync(this.dir);
  }
}
