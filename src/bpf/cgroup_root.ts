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
import { cString, errno, libc, mountApi } from "../ffi/libc.ts";
import { BpfError } from "./errors.ts";

// open(2) flags and the new mount API's constants (x86-64, include/uapi/linux/mount.h).
const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
const FSOPEN_CLOEXEC = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The mount point of the cgroup2 file system whose root is the hierarchy's
 * root (not a subtree bind-mounted somewhere), from /proc/self/mountinfo;
 * undefined if there is none.
 */
export function cgroupV2Root(mountinfo = "/proc/self/mountinfo"): string | undefined {
  for (const line of Deno.readTextFileSync(mountinfo).split("\n")) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const fields = line.split(" ");
    const separator = fields.indexOf("-");
    if (separator < 0 || fields[separator + 1] !== "cgroup2" || fields[3] !== "/") continue;
    return unescape(fields[4]);
  }
  return undefined;
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

/** A detached cgroup2 mount's root directory (the mount goes when its last descriptor closes). */
function openDetached(): number {
  const context = checked(mountApi.fsopen(cString("cgroup2"), FSOPEN_CLOEXEC), "fsopen cgroup2");
  try {
    checked(mountApi.fsconfig(context, FSCONFIG_CMD_CREATE), "create a cgroup2 mount");
    const mount = checked(mountApi.fsmount(context, FSMOUNT_CLOEXEC), "fsmount cgroup2");
    try {
      // fsmount gives an O_PATH descriptor, which cgroup attach does not take.
      const root = libc().openat(mount, cString("."), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      return checked(root, "open the cgroup2 mount");
    } finally {
      libc().close(mount);
    }
  } finally {
    libc().close(context);
  }
}

/** Opens the cgroup v2 root: the mounted one, else a detached mount of it. */
export function openCgroupV2Root(): CgroupRoot {
  const path = cgroupV2Root();
  const fd = path === undefined
    ? openDetached()
    : checked(libc().open(cString(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC), `open ${path}`);
  return { fd, [Symbol.dispose]: () => libc().close(fd) };
}
