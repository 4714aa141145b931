/**
 * A cgroup v2 directory as the kernel knows it: its id (the id of its kernfs
 * node, which is the directory's inode number on 64-bit hosts, and what
 * bpf_get_current_cgroup_id() returns) and its level (0 for the root), which
 * the in-kernel --cgroup check compares a socket's cgroup's ancestor with.
 *
 * @module
 */
import { mountsOf } from "./mounts.ts";

/** A cgroup v2 directory. */
export interface CgroupDirectory {
  path: string;
  id: number;
  level: number;
}

const parts = (path: string) => path.split("/").filter((part) => part !== "");

/** The cgroup v2 directory at `path`; throws Error with the reason if it is not one. */
export function cgroupDirectory(path: string, mountinfo?: string): CgroupDirectory {
  let real: string;
  let stat: Deno.FileInfo;
  try {
    real = Deno.realPathSync(path);
    stat = Deno.statSync(real);
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : error}`);
  }
  // The cgroup2 mount it is in: the deepest mount point above it.
  const mount = mountsOf("cgroup2", mountinfo)
    .filter((m) => real === m.mountPoint || real.startsWith(`${m.mountPoint.replace(/\/$/, "")}/`))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
  if (mount === undefined || !stat.isDirectory || stat.ino === null) {
    throw new Error(`${path}: not a directory of the cgroup v2 hierarchy (a cgroup2 mount)`);
  }
  // A mount may show a subtree (mountinfo's root): levels count from the hierarchy's root.
  const level = parts(mount.root).length + parts(real.slice(mount.mountPoint.length)).length;
  return { path: real, id: stat.ino, level };
}
