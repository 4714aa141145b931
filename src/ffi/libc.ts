/**
 * The libc functions tcptools calls directly: anonymous memory and temporary
 * files for the embedded libraries, epoll for waiting on ring buffers, clocks,
 * errno, the signal mask.
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
  /** int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
   * On the calling thread, so that its errno can be read after it. */
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  /** int eventfd(unsigned int initval, int flags); */
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** int clock_gettime(clockid_t clockid, struct timespec *tp); */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  /** int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset); */
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libc. */
export type Libc = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

let opened: Deno.DynamicLibrary<typeof libcSymbols> | undefined;

/** Opens libc on first use (nothing happens at import time). */
export function libc(): Libc {
  opened ??= Deno.dlopen("libc.so.6", libcSymbols);
  return opened.symbols;
}

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
