/**
 * Where the cgroup v2 hierarchy's root is mounted. A program attached there
 * runs for the sockets of every process below it, whatever cgroup or
 * network namespace they are in. Unified hosts mount it at /sys/fs/cgroup,
 * hybrid ones (cgroup v1 controllers beside it) at /sys/fs/cgroup/unified.
 *
 * @module
 */

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
