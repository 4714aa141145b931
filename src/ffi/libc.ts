/**
 * The libc functions tcptools calls directly: anonymous memory and temporary
 * files for the embedded libraries, epoll and mmap for reading ring buffers,
 * clocks, errno, the signal mask and SIGXFSZ, users and their groups, files made
 * relative to a directory descriptor (--textfile), and the system calls that
 * open a tracefs event or a detached mount (x86-64 numbers, through syscall()).
 *
 * @module
 */

/** Symbol table; each entry's C declaration is in its comment. */
export const libcSymbols = {
  /** int memfd_create(const char *name, unsigned int flags); */
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** int open(const char *pathname, int flags, mode_t mode); */
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int epoll_create1(int flags); */
  epoll_create1: { parameters: ["i32"], result: "i32" },
  /** int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event); */
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /** int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
   *                  const sigset_t *sigmask);
   * Runs on a worker thread so that waiting never blocks the event loop. */
  epoll_pwait: {
    parameters: ["i32", "buffer", "i32", "i32", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  /** The same, on the calling thread: blocks it (and its event loop) while waiting. */
  epoll_pwait_here: {
    name: "epoll_pwait",
    parameters: ["i32", "buffer", "i32", "i32", "buffer"],
    result: "i32",
  },
  /** int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
   * On the calling thread, so that its errno can be read after it. */
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout); */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  /** int eventfd(unsigned int initval, int flags); */
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  /** int ioctl(int fd, unsigned long request, int *argp); (FIONREAD) */
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int openat(int dirfd, const char *pathname, int flags); */
  openat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** int openat(int dirfd, const char *pathname, int flags, mode_t mode); with O_CREAT */
  openat_create: { name: "openat", parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  /** int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath); */
  renameat: { parameters: ["i32", "buffer", "i32", "buffer"], result: "i32" },
  /** int statfs(const char *path, struct statfs *buf); */
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  /** int unlinkat(int dirfd, const char *pathname, int flags); */
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // The new mount API through syscall(2) (glibc has wrappers only from 2.36);
  // the first argument is the system call number (see mountApi below).
  /** long syscall(SYS_fsopen, const char *fsname, unsigned int flags); */
  syscall_fsopen: { name: "syscall", parameters: ["i64", "buffer", "u32"], result: "i64" },
  /** long syscall(SYS_fsconfig, int fd, unsigned int cmd, const char *key, const void *value,
   *               int aux); */
  syscall_fsconfig: {
    name: "syscall",
    parameters: ["i64", "i32", "u32", "pointer", "pointer", "i32"],
    result: "i64",
  },
  /** long syscall(SYS_fsmount, int fd, unsigned int flags, unsigned int attr_flags); */
  syscall_fsmount: { name: "syscall", parameters: ["i64", "i32", "u32", "u32"], result: "i64" },

  /** int vdprintf(int fd, const char *format, va_list ap); (va_list is a pointer on x86-64) */
  vdprintf: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); */
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  /** int munmap(void *addr, size_t length); */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** long sysconf(int name); */
  sysconf: { parameters: ["i32"], result: "i64" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** int clock_gettime(clockid_t clockid, struct timespec *tp); */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  /** long syscall(SYS_perf_event_open, struct perf_event_attr *attr, pid_t pid, int cpu,
   *              int group_fd, unsigned long flags); glibc has no wrapper. */
  perf_event_open: {
    name: "syscall",
    parameters: ["i64", "buffer", "i64", "i64", "i64", "u64"],
    result: "i64",
  },
  /** int sigprocmask(int how, const sigset_t *set, sigset_t *oldset); glibc's changes the
   * calling thread's mask (rt_sigprocmask), as pthread_sigmask does, and is in libc.so.6 on
   * every glibc (pthread_sigmask is in libpthread.so.0 before 2.34). */
  sigprocmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** sighandler_t signal(int signum, sighandler_t handler); (SIG_IGN is the pointer 1) */
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
  /** struct passwd *getpwuid(uid_t uid); through the host's NSS, as sudo does. */
  getpwuid: { parameters: ["u32"], result: "pointer" },
  /** int getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups); */
  getgrouplist: { parameters: ["buffer", "u32", "buffer", "buffer"], result: "i32" },
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS = { perf_event_open: 298n } as const;

/** open(2) flags. */
export const O = {
  RDONLY: 0,
  WRONLY: 0x1,
  RDWR: 0x2,
  CREAT: 0x40,
  EXCL: 0x80,
  DIRECTORY: 0x10000,
  NOFOLLOW: 0x20000,
  CLOEXEC: 0x80000,
  TMPFILE: 0x410000, // __O_TMPFILE | O_DIRECTORY
} as const;

/** errno values tcptools tells apart. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENOMEM: 12,
  EACCES: 13,
  ENOTDIR: 20,
  EINVAL: 22,
  ENOTSUP: 95,
} as const;

/*
 * The layouts of the C structs these calls take (x86-64 glibc and kernel
 * ABI), each declared here once: byte sizes and the offsets of the fields
 * tcptools reads or writes.
 */

/** struct pollfd { int fd; short events; short revents; } */
export const POLLFD = { size: 8, fd: 0, events: 4, revents: 6 } as const;
/** struct epoll_event { u32 events; u64 data; }, packed on x86-64 (__EPOLL_PACKED). */
export const EPOLL_EVENT = { size: 12, events: 0 } as const;
/** sigset_t as glibc declares it: 1024 bits, signal n at bit n - 1. */
export const SIGSET = { size: 128 } as const;
/** struct timespec { time_t tv_sec; long tv_nsec; } */
export const TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;
/** struct statfs: `long f_type` first. */
export const STATFS = { size: 120, type: 0 } as const;
/**
 * struct perf_event_attr as of PERF_ATTR_SIZE_VER7 (the kernel zero-extends
 * older sizes): u32 type, u32 size, u64 config first.
 */
export const PERF_EVENT_ATTR = { size: 128, type: 0, sizeField: 4, config: 8 } as const;

/** The opened libc. */
export type Libc = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

let opened: Deno.DynamicLibrary<typeof libcSymbols> | undefined;

/** Opens libc on first use (nothing happens at import time). */
export function libc(): Libc {
  opened ??= Deno.dlopen("libc.so.6", libcSymbols);
  return opened.symbols;
}

// x86-64 system call numbers of the new mount API (Linux 5.2).
const SYS_FSOPEN = 430n;
const SYS_FSCONFIG = 431n;
const SYS_FSMOUNT = 432n;

/** fsopen(2), fsconfig(2) and fsmount(2); each returns -1 and sets errno on failure. */
export const mountApi = {
  fsopen: (fsname: Uint8Array<ArrayBuffer>, flags: number) =>
    Number(libc().syscall_fsopen(SYS_FSOPEN, fsname, flags)),
  fsconfig: (fd: number, cmd: number) =>
    Number(libc().syscall_fsconfig(SYS_FSCONFIG, fd, cmd, null, null, 0)),
  fsmount: (fd: number, flags: number) => Number(libc().syscall_fsmount(SYS_FSMOUNT, fd, flags, 0)),
};

/** The calling thread's errno, read right after a failed call. */
export function errno(): number {
  const location = libc().__errno_location();
  return location === null ? 0 : new Deno.UnsafePointerView(location).getInt32();
}

/** The C library's text for an errno value, e.g. "Operation not permitted". */
export function errorText(code: number): string {
  const text = libc().strerror(code);
  return text === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(text);
}

/** A NUL-terminated C string for a `buffer` parameter. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text + "\0");
}
