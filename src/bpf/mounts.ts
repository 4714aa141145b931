/**
 * Finding a kernel file system (tracefs, the cgroup v2 hierarchy) without
 * changing what the host has mounted: the mount points /proc/self/mountinfo
 * lists, else a mount of our own made with the new mount API (fsopen,
 * fsconfig, fsmount: Linux 5.2+) that is attached to no directory, so no one
 * else sees it, and goes away when its last descriptor closes.
 *
 * @module
 */
import { cString, errno, libc, mountApi } from "../ffi/libc.ts";
import { BpfError } from "./errors.ts";

// include/uapi/linux/mount.h
const FSOPEN_CLOEXEC = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;

/** A mount of a file system: where it is mounted, and which of its directories it shows. */
export interface Mount {
  mountPoint: string;
  /** "/" when the whole file system is mounted there, else the subtree bind-mounted. */
  root: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mounts of file system type `fstype` in this mount namespace. */
export function mountsOf(fstype: string, mountinfo = "/proc/self/mountinfo"): Mount[] {
  return Deno.readTextFileSync(mountinfo).split("\n").flatMap((line) => {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const fields = line.split(" ");
    const separator = fields.indexOf("-");
    if (separator < 0 || fields[separator + 1] !== fstype) return [];
    return [{ mountPoint: unescape(fields[4]), root: unescape(fields[3]) }];
  });
}

function checked(fd: number, operation: string): number {
  if (fd < 0) throw new BpfError(operation, errno());
  return fd;
}

/**
 * Mounts a new instance of `fstype` that no directory shows and hands its
 * descriptor (O_PATH, at the file system's root) to `use`; the mount goes
 * when `use` returns, unless `use` opened something in it that stays open.
 * `purpose` ends the message of a failure ("to find ...").
 */
export function withDetachedMount<T>(
  fstype: string,
  purpose: string,
  use: (mountFd: number) => T,
): T {
  const what = `mount a private ${fstype} ${purpose}`;
  const context = checked(mountApi.fsopen(cString(fstype), FSOPEN_CLOEXEC), what);
  try {
    checked(mountApi.fsconfig(context, FSCONFIG_CMD_CREATE), what);
    const mount = checked(mountApi.fsmount(context, FSMOUNT_CLOEXEC), what);
    try {
      return use(mount);
    } finally {
      libc().close(mount);
    }
  } finally {
    libc().close(context);
  }
}
