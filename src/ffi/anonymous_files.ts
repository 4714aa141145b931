/**
 * Files with no name, for bytes tcptools loads or runs (the embedded
 * libraries, command mode's launcher): nobody else can reach one between our
 * write and the loader's read.
 *
 * @module
 */
import { cString, Errno, errno, libc, O } from "./libc.ts";

const MFD_CLOEXEC = 0x1;
/** Executable even under vm.memfd_noexec=1 (Linux 6.3; older kernels say EINVAL). */
const MFD_EXEC = 0x10;

/** Under vm.memfd_noexec=2, MFD_EXEC fails (EACCES): the next place is tried, as for no memfd. */
function memoryFile(name: string): number {
  const fd = libc().memfd_create(cString(name), MFD_CLOEXEC | MFD_EXEC);
  if (fd >= 0 || errno() !== Errno.EINVAL) return fd;
  return libc().memfd_create(cString(name), MFD_CLOEXEC);
}

/**
 * Where the bytes can go, in order of preference; each makes an open,
 * close-on-exec file that has no name. The temporary files are made in
 * root's own /dev/shm and /tmp, never $TMPDIR, whose owner (a user, under
 * sudo -E) could lead names there anywhere (symbolic links) or serve the
 * bytes read back (a FUSE mount). Each returns the fd, or -1 with errno set.
 */
export const ANONYMOUS_FILE_PLACES: [string, (name: string) => number][] = [
  ["memory file", memoryFile],
  ...["/dev/shm", "/tmp"].map((dir): [string, (name: string) => number] => [
    `unnamed file in ${dir}`,
    () => libc().open(cString(dir), O.TMPFILE | O.RDWR | O.CLOEXEC, 0o700),
  ]),
];
