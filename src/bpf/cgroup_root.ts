/**
 * Where the cgroup v2 hierarchy's root is mounted. A program attached there
 * runs for the sockets of every process below it, whatever cgroup or
 * network namespace they are in. Unified hosts mount it at /sys/fs/cgroup,
 * hybrid ones (cgroup v1 controllers beside it) at /sys/fs/cgroup/unified;
 * where none is mounted, a detached mount of its own (fsopen, Linux 5.2+)
 * reaches the root without touching the host's mount table.
 *
 * @module
 */
import { cString, errno, libc, O } from "../ffi/libc.ts";
import { BpfError } from "./errors.ts";
import { mountsOf, withDetachedMount } from "./mounts.ts";

// open(2) flags (x86-64).

/**
 * The mount point of the cgroup2 file system whose root is the hierarchy's
 * root (not a subtree bind-mounted somewhere); undefined if there is none.
 */
export function cgroupV2Root(mountinfo?: string): string | undefined {
  return mountsOf("cgroup2", mountinfo).find((mount) => mount.root === "/")?.mountPoint;
}

/** An open directory of the cgroup v2 root; closed when disposed. */
export interface CgroupRoot {
  fd: number;
  [Symbol.dispose](): void;
}

function checked(fd: number, operation: string): number {
  if (fd < 0) throw new BpfError(operation, errno());
  return fd;
}

/** Opens the cgroup v2 root: the mounted one, else a detached mount of it. */
export function openCgroupV2Root(): CgroupRoot {
  const flags = O.RDONLY | O.DIRECTORY | O.CLOEXEC;
  const path = cgroupV2Root();
  const fd = path === undefined
    // fsmount gives an O_PATH descriptor, which cgroup attach does not take.
    ? withDetachedMount(
      "cgroup2",
      "to attach to its root",
      (mount) => checked(libc().openat(mount, cString("."), flags), "open the cgroup2 mount"),
    )
    : checked(libc().open(cString(path), flags, 0), `open ${path}`);
  return { fd, [Symbol.dispose]: () => libc().close(fd) };
}
