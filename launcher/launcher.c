/*
 * tcptools launcher: the first part of the single-file executable that
 * scripts/package.ts assembles when `deno compile` is not available.
 *
 * File layout (all offsets absolute, integers little-endian):
 *
 *   [this program, static ELF][Deno runtime ELF][app JS (deno bundle)][trailer]
 *
 *   trailer (TRAILER_SIZE = 48 bytes, the last bytes of the file):
 *     u64 runtime_offset, u64 runtime_size, u64 app_offset, u64 app_size,
 *     char magic[16] = "TCPTOOLS_PAYLOAD"
 *
 * Keep this layout in sync with concatenate() in scripts/package.ts.
 *
 * What it does: copies the app into a memfd that survives exec, then runs
 *
 *   tcptools run <DENO_FLAGS> /proc/self/fd/<app> <user args unchanged>
 *
 * with the runtime taken, in order of preference, from: its own pages of this
 * file, mapped in place (userland_exec.c: no copy); a copy in an executable
 * memfd; a copy in an unnamed temporary file. Either way this process becomes
 * the runtime, so its exit status, signals, pid, stdio and controlling
 * terminal are the program's own.
 *
 * It is linked statically so the file runs on any x86-64 Linux, whatever its
 * libc; the runtime itself still needs glibc (it is the stock Deno binary).
 * It needs /proc mounted: it finds its own file as /proc/self/exe, and Deno
 * opens the app as /proc/self/fd/<app> (there is no other way to hand a
 * memfd to `deno run` as its main module).
 *
 * Before the runtime starts it blocks the stop signals (block_stop_signals()),
 * ignores SIGXFSZ (ignore_file_size_signal()), raises the resource limits V8
 * cannot start without (raise_limits()), and replaces the environment by an
 * allow-listed one (clean_environment()).
 *
 * Errors are one line on stderr and exit status 1.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "userland_exec.h"

/* Linux 6.3 added these; older headers (and kernels) do not know them. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

#define MAGIC "TCPTOOLS_PAYLOAD"
#define MAGIC_SIZE 16
#define TRAILER_SIZE (4 * 8 + MAGIC_SIZE)

/*
 * Deno flags, and why:
 *   -A           the tracer needs FFI, /sys, /proc, env, run: all of them.
 *   --no-prompt  belt and braces: a missing permission throws, never asks.
 *   --no-config  Deno 2.9.6 looks for deno.json(c) and package.json from the
 *                main module's directory up, here /proc/self/fd, /proc and
 *                /; a stray /deno.json or /package.json (common in
 *                containers) would otherwise be loaded, or break the start
 *                if it is not Deno's (tested in a chroot). This also turns
 *                off import maps, workspaces and node_modules handling.
 *   --no-lock    never read or write a deno.lock.
 *   --no-remote  the bundle is self-contained: an https:/jsr:/npm: import
 *   --no-npm     left in it is a packaging bug (scripts/package.ts checks),
 *                so fail rather than touch the network. node: builtins
 *                still work.
 *   --ext=js     /proc/self/fd/N has no extension to infer the type from.
 *   -q           Deno prints nothing of its own (downloads, warnings); the
 *                app's output, and its uncaught errors, are unaffected.
 *   --no-code-cache  the cache directory is unwritable (clean_environment()).
 *   --v8-flags=--max-semi-space-size=2
 *                bounds V8's young generation (default up to 3 x 16 MB).
 *                The tracer's garbage is many short strings per batch; with
 *                the default the heap grows to that bound under load and
 *                resident memory swings by 20-40 MB (scripts/soak.ts). With
 *                2 MB semi-spaces peak RSS in a flood of `life` is 72 MB
 *                (77-81 MB with 4), for 15-25% more CPU per event there,
 *                where tcptools uses a quarter of tcplife's (BENCHMARKS.md).
 * No --no-check: `deno run` does not type-check, and the bundle is JS.
 */
static const char *const DENO_FLAGS[] = {
    "-A",      "--no-prompt", "--no-config", "--no-lock", "--no-remote", "--no-npm", "--ext=js",
    "-q",      "--no-code-cache", "--v8-flags=--max-semi-space-size=2",
};
#define N_DENO_FLAGS (sizeof DENO_FLAGS / sizeof DENO_FLAGS[0])

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	/* Build the whole line first so it reaches stderr in one write(). */
	char line[1024];
	int n = snprintf(line, sizeof line, "tcptools: ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nothing more we can do */
	}
	_exit(1);
}

static uint64_t get_u64le(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Copies len bytes at offset off of in into out (at its current position).
 * sendfile() keeps the ~100 MB runtime in the kernel (page cache to shmem)
 * instead of bouncing it through a user buffer; read/write is the fallback
 * for kernels or file types where sendfile refuses. Returns 0 or an errno.
 */
static int copy_range(int out, int in, uint64_t off, uint64_t len)
{
	off_t pos = (off_t)off;
	uint64_t left = len;
	while (left > 0) {
		size_t chunk = left > 0x40000000 ? 0x40000000 : (size_t)left;
		ssize_t n = sendfile(out, in, &pos, chunk);
		if (n > 0) {
			left -= (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return EIO; /* the file is shorter than the trailer says */
		if (left == len && (errno == EINVAL || errno == ENOSYS))
			break; /* refused before copying anything: use read/write */
		return errno;
	}
	static char buf[1 << 16];
	while (left > 0) {
		size_t want = left > sizeof buf ? sizeof buf : (size_t)left;
		ssize_t n = pread(in, buf, want, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return errno;
			done += w;
		}
		pos += n;
		left -= (uint64_t)n;
	}
	return 0;
}

/*
 * memfd_create() that asks for the exec bit explicitly when `exec` is set and
 * for a no-exec seal otherwise. Under vm.memfd_noexec=2, MFD_EXEC fails
 * with EACCES and, depending on the kernel version, a memfd with neither
 * flag is refused or silently sealed no-exec. Kernels before 6.3 know
 * neither flag (EINVAL): retry without. Returns the fd or -1 with errno set.
 */
static int make_memfd(const char *name, unsigned int flags, int exec)
{
	int fd = memfd_create(name, flags | (exec ? MFD_EXEC : MFD_NOEXEC_SEAL));
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, flags);
	return fd;
}

/*
 * An unnamed file in dir (O_TMPFILE, or mkstemp() then unlink at once), so
 * that nothing is ever left on disk, not even if we are killed. Returns an
 * O_RDWR fd or -1 with errno set.
 */
static int make_unnamed_file(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1; /* e.g. EACCES, EROFS, ENOENT: mkstemp would fail too */
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/tcptools-runtime-XXXXXX", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	unlink(path);
	if (fchmod(fd, 0700) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Replaces this process with the runtime in fd. Does not return on success;
 * on failure returns the errno of the exec. An fd that is open for writing
 * cannot be executed (ETXTBSY), so a plain file is first reopened read-only
 * through /proc and the writable fd closed.
 */
static int exec_fd(int fd, int reopen, char **argv)
{
	char path[32];
	if (reopen) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		int ro = open(path, O_RDONLY | O_CLOEXEC);
		if (ro < 0)
			return errno;
		close(fd);
		fd = ro;
	}
	/*
	 * The fd is close-on-exec: the kernel opens the ELF before it closes
	 * the fd, so that is fine for a binary (it would not be for a #! script),
	 * and the runtime does not inherit a stray fd.
	 *
	 * execveat(fd, "", AT_EMPTY_PATH) is the same exec as
	 * execve("/proc/self/fd/<fd>"), but recent kernels (seen on 6.18) name
	 * the process after the file ("memfd:tcptools" in ps, top, pgrep)
	 * instead of after the fd number ("5"; older kernels do that for
	 * both). Kernels without execveat (before 3.19) get the /proc path.
	 */
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	if (errno == ENOSYS) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		execv(path, argv);
	}
	int e = errno;
	close(fd);
	return e;
}

/*
 * Directories for an unnamed file when no memfd can be had: root's own
 * tmpfs and /tmp, never $TMPDIR. Whoever owns a directory controls what its
 * names lead to (and a FUSE mount there controls the bytes read back), so a
 * user's TMPDIR under sudo -E would choose what root writes and executes.
 * The file itself has no name (O_TMPFILE, or mkostemp and unlink at once).
 */
static const char *const TEMP_DIRS[] = {"/dev/shm", "/tmp"};
#define N_TEMP_DIRS (sizeof TEMP_DIRS / sizeof TEMP_DIRS[0])

/*
 * SIGINT, SIGTERM and SIGHUP stay blocked from here until the app has its
 * handlers (src/trace/stop_signals.ts unblocks them): the mask survives exec
 * and is inherited by the runtime's threads, so a stop sent while the
 * runtime boots or the programs attach waits, pending, and then ends the
 * trace cleanly (status 0) instead of killing the process by the signal.
 */
static void block_stop_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/*
 * SIGXFSZ ignored, so that a write past the file size limit (ulimit -f) fails
 * with EFBIG instead of killing the process (status 153), here and in the
 * runtime, which inherits the disposition through exec: the copies below
 * then report the limit, and the app reports a stdout that reaches it as a
 * failed write (src/trace/file_size_signal.ts does the same from source).
 */
static void ignore_file_size_signal(void)
{
	signal(SIGXFSZ, SIG_IGN);
}

/*
 * Dies for a copy of `len` bytes, `what`, that failed with `err`. EFBIG is
 * the file size limit, which counts memory files too and which root cannot
 * raise without CAP_SYS_RESOURCE (`ulimit -f` sets the hard limit as well).
 */
static void die_copy(const char *what, int err, uint64_t len)
{
	struct rlimit lim;
	if (err == EFBIG && getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
		die("cannot copy %s into memory: the file size limit is %llu KiB (ulimit -f): "
		    "it needs at least %llu KiB",
		    what, (unsigned long long)lim.rlim_cur >> 10,
		    (unsigned long long)(len + 1023) >> 10);
	die("cannot copy %s: %s", what, strerror(err));
}

/*
 * Measured with Deno 2.9.6: with fewer than ~34 open files it panics or
 * libbpf fails mid-trace (2 CPUs; more CPUs need no more); under an address
 * space limit below ~35 GiB V8 aborts with "Oilpan: CagedHeap reservation"
 * (it reserves, not commits, a 32 GiB cage) and a C stack trace. The
 * minimums below leave a margin.
 */
#define MIN_OPEN_FILES 64
#define MIN_ADDRESS_SPACE (40ULL << 30)

/*
 * Raises the soft limit on open files to the hard one, as most daemons do
 * (the runtime never uses select(), whose fd_set a high limit would break),
 * and a soft address-space limit (ulimit -v) that V8 cannot start under as
 * far as the hard one allows. Dies with one line if a hard limit is too low.
 */
static void raise_limits(void)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
		if (lim.rlim_cur < lim.rlim_max) {
			lim.rlim_cur = lim.rlim_max;
			setrlimit(RLIMIT_NOFILE, &lim);
		}
		if (lim.rlim_max < MIN_OPEN_FILES)
			die("the hard limit on open files is %llu (ulimit -Hn): it needs at least %d",
			    (unsigned long long)lim.rlim_max, MIN_OPEN_FILES);
	}
	if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur < MIN_ADDRESS_SPACE) {
		if (lim.rlim_max < MIN_ADDRESS_SPACE)
			die("the hard address space limit is %llu KiB (ulimit -Hv): it needs at "
			    "least %llu KiB (the runtime reserves 32 GiB it does not use)",
			    (unsigned long long)lim.rlim_max >> 10, MIN_ADDRESS_SPACE >> 10);
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_AS, &lim);
	}
}

/*
 * True for a value that can name nothing outside the system's own data
 * (zoneinfo, locales): no absolute path, no "..". glibc opens TZ=/x or
 * TZ=:/x as a file, and a FIFO there would hang the start.
 */
static int names_system_data(const char *value)
{
	if (*value == ':')
		value++;
	return *value != '/' && strstr(value, "..") == NULL;
}

/*
 * Whether the runtime gets this NAME=value. The rest of the environment is
 * hostile input (sudo -E, su -m, a root shell with a user's variables): the
 * DENO_* variables alone let it write files through symlinks
 * (DENO_V8_FLAGS=--logfile, DENO_AUDIT_PERMISSIONS), create directories
 * (DENO_COVERAGE_DIR) or send telemetry (OTEL_DENO); LD_* and GLIBC_TUNABLES
 * steer the dynamic loader; HOME leads Deno to read $HOME/.npmrc.
 *   TCPTOOLS_*   the program's own settings (docs/common.md, "Environment variables")
 *   COLUMNS      the width of --help
 *   TERM, NO_COLOR  whether Deno colours an uncaught error
 *   TZ           local time for -T
 *   LANG, LANGUAGE, LC_*  the locale (as TZ, only names of system data)
 */
static int allowed(const char *entry)
{
	static const char *const exact[] = {"COLUMNS=", "TERM=", "NO_COLOR="};
	static const char *const system_data[] = {"TZ=", "LANG=", "LANGUAGE=", "LC_"};
	if (strncmp(entry, "TCPTOOLS_COMMAND_ENV_FD=", 24) == 0)
		return 0; /* ours to set (save_environment) */
	if (strncmp(entry, "TCPTOOLS_", 9) == 0)
		return 1;
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strncmp(entry, exact[i], strlen(exact[i])) == 0)
			return 1;
	for (size_t i = 0; i < sizeof system_data / sizeof system_data[0]; i++) {
		const char *eq = strchr(entry, '=');
		if (eq && strncmp(entry, system_data[i], strlen(system_data[i])) == 0)
			return names_system_data(eq + 1);
	}
	return 0;
}

/*
 * The environment the runtime starts with: the allowed variables, plus
 *   DENO_NO_UPDATE_CHECK=1  Deno 2.9.6 checks dl.deno.land for a new
 *       release on `deno run` when stderr is a terminal (seen with
 *       strace); the runtime is pinned by the build, and a tracer must
 *       not make DNS queries or print "new release" notices.
 *   DENO_DISABLE_NODE_SHIM=1  when no `node` is on PATH, Deno 2.9.6
 *       symlinks DENO_DIR/node_compat_bin/node to its own executable
 *       and prepends that directory to the app's PATH. Here the link
 *       would point at "/memfd:tcptools (deleted)".
 *   DENO_DIR=/proc/tcptools-no-cache  Deno's cache directory, one nobody,
 *       not even root, can create (procfs; /proc is known to be procfs
 *       since /proc/self/exe opened):
 *     - without it Deno 2.9.6 needs a home directory: with HOME unset and
 *       no passwd entry (env -i in a minimal chroot or container) it exits
 *       with "Could not resolve global Deno cache directory";
 *     - Deno writes into it on every run, even for a bundle (sqlite
 *       caches); a tracer copied onto a server must not leave files behind;
 *     - an unwritable one costs only the V8 code cache (~35 ms per start;
 *       --no-code-cache then skips even trying): Deno keeps its other
 *       caches in memory.
 *   HOME=/proc/tcptools-no-home  Deno 2.9.6 opens $HOME/.npmrc on every
 *       start, even with --no-npm: a FIFO there hangs it, a link to
 *       /dev/zero grows it without bound. Nothing can exist under this one.
 *   DENO_LOG=error,deno::cache::cache_db=off  Deno's log filter: errors
 *       only, as -q, but none from the cache database module, whose three
 *       "Failed to open cache file" lines (for the DENO_DIR above) would
 *       greet every user in a terminal. Uncaught errors still print.
 * DENO_NO_PACKAGE_JSON is not set: --no-config already stops package.json
 * discovery (tested). PATH is not passed: the program itself runs no commands
 * (command mode gives CMD the original environment: save_environment()).
 * These variables are visible to the app and its children.
 */
static void clean_environment(void)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **kept = calloc(n + 1, sizeof *kept);
	if (!kept)
		die("out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (allowed(environ[i]))
			kept[k++] = environ[i];
	/* The strings themselves are on the stack the kernel gave us: they stay. */
	clearenv();
	for (size_t i = 0; i < k; i++)
		putenv(kept[i]);
	free(kept);
	setenv("DENO_NO_UPDATE_CHECK", "1", 1);
	setenv("DENO_DISABLE_NODE_SHIM", "1", 1);
	setenv("DENO_DIR", "/proc/tcptools-no-cache", 1);
	setenv("HOME", "/proc/tcptools-no-home", 1);
	setenv("DENO_LOG", "error,deno::cache::cache_db=off", 1);
}

/*
 * Command mode (`tcptools <tool> ... -- CMD`) runs CMD with the environment
 * tcptools was started with, which the runtime must not see: the whole of it
 * goes, NUL-separated, into a sealed memfd the runtime inherits (not
 * close-on-exec), named by TCPTOOLS_COMMAND_ENV_FD, and only the command's
 * start reads it (src/trace/command.ts). Any TCPTOOLS_COMMAND_ENV_FD given to
 * us is dropped by clean_environment() first. Returns the fd, or -1 (no
 * memfd: the command then gets the runtime's own environment).
 */
static int save_environment(void)
{
	int fd = make_memfd("tcptools-environment", MFD_ALLOW_SEALING, 0);
	if (fd < 0)
		return -1;
	for (size_t i = 0; environ && environ[i]; i++) {
		size_t n = strlen(environ[i]) + 1;
		if (write(fd, environ[i], n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

/* Whether the command line has a command to run: an argument "--". */
static int has_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return 1;
	return 0;
}

/*
 * ENOENT from exec of an existing file means its ELF interpreter is missing:
 * the runtime is the stock, glibc-linked Deno, so on a musl-only system
 * (Alpine) the loader it names does not exist. Reads that name from the
 * runtime's PT_INTERP for the error message.
 */
static void die_no_interpreter(int self, uint64_t runtime_off)
{
	Elf64_Ehdr eh;
	char interp[256] = "its ELF interpreter";
	if (pread(self, &eh, sizeof eh, (off_t)runtime_off) == (ssize_t)sizeof eh &&
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64) {
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			off_t at = (off_t)(runtime_off + eh.e_phoff + (uint64_t)i * eh.e_phentsize);
			if (pread(self, &ph, sizeof ph, at) != (ssize_t)sizeof ph)
				break;
			if (ph.p_type == PT_INTERP && ph.p_filesz < sizeof interp) {
				ssize_t n = pread(self, interp, ph.p_filesz,
						  (off_t)(runtime_off + ph.p_offset));
				interp[n > 0 ? n : 0] = '\0';
				break;
			}
		}
	}
	die("cannot execute the embedded runtime: %s is missing (it needs glibc)", interp);
}

int main(int argc, char **argv)
{
	block_stop_signals();
	ignore_file_size_signal();
	/*
	 * If we were started with stdin, stdout or stderr closed, the fds
	 * opened below would take their numbers and the runtime would print
	 * into the app's memfd. Fill any gap with /dev/null first.
	 */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0)
			break;

	raise_limits();

	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die("cannot open /proc/self/exe: %s (is /proc mounted?)", strerror(errno));

	struct stat st;
	if (fstat(self, &st) < 0)
		die("cannot stat /proc/self/exe: %s", strerror(errno));
	unsigned char trailer[TRAILER_SIZE];
	uint64_t size = (uint64_t)st.st_size;
	if (size < TRAILER_SIZE ||
	    pread(self, trailer, TRAILER_SIZE, (off_t)(size - TRAILER_SIZE)) != TRAILER_SIZE ||
	    memcmp(trailer + 32, MAGIC, MAGIC_SIZE) != 0)
		die("no embedded runtime found in this file (truncated or not built by scripts/package.ts)");
	uint64_t runtime_off = get_u64le(trailer), runtime_len = get_u64le(trailer + 8);
	uint64_t app_off = get_u64le(trailer + 16), app_len = get_u64le(trailer + 24);
	uint64_t end = size - TRAILER_SIZE;
	if (runtime_off > end || runtime_len > end - runtime_off || app_off > end ||
	    app_len > end - app_off || runtime_len == 0)
		die("corrupt trailer in this file (payload outside the file)");

	/*
	 * The app: a memfd WITHOUT close-on-exec, so that the runtime can open
	 * it as /proc/self/fd/<n> after exec. It stays open (unused) for the
	 * life of the process. It is never executed, hence the no-exec seal.
	 */
	int app = make_memfd("tcptools.js", MFD_ALLOW_SEALING, 0);
	int err;
	if (app < 0) {
		/* No memfd at all (pre-3.17 kernel or seccomp): an unnamed file. */
		for (size_t i = 0; i < N_TEMP_DIRS && app < 0; i++)
			app = make_unnamed_file(TEMP_DIRS[i]);
		if (app < 0)
			die("cannot create a file for the embedded app in /dev/shm or /tmp: %s",
			    strerror(errno));
		/* make_unnamed_file sets close-on-exec: clear it for this one. */
		fcntl(app, F_SETFD, 0);
	}
	/* The app is the largest file written at start (it holds the libraries). */
	if ((err = copy_range(app, self, app_off, app_len)) != 0)
		die_copy("the embedded app", err, app_len);
	/* Read-only from now on; failure (no sealing, tmpfile) is harmless. */
	fcntl(app, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);

	/* argv: tcptools run <flags> /proc/self/fd/<app> <argv[1..]> */
	char app_path[32];
	snprintf(app_path, sizeof app_path, "/proc/self/fd/%d", app);
	char **args = calloc((size_t)argc + N_DENO_FLAGS + 4, sizeof *args);
	if (!args)
		die("out of memory");
	size_t k = 0;
	args[k++] = "tcptools";
	args[k++] = "run";
	for (size_t i = 0; i < N_DENO_FLAGS; i++)
		args[k++] = (char *)DENO_FLAGS[i];
	args[k++] = app_path;
	for (int i = 1; i < argc; i++)
		args[k++] = argv[i];
	args[k] = NULL;

	int saved = has_command(argc, argv) ? save_environment() : -1;
	clean_environment();
	if (saved >= 0) {
		char number[16];
		snprintf(number, sizeof number, "%d", saved);
		setenv("TCPTOOLS_COMMAND_ENV_FD", number, 1);
	}

	/*
	 * 1. The runtime mapped in place from this file, like exec would but
	 * without a copy (see userland_exec.c). Returns only if it cannot.
	 */
	char why[512];
	err = userland_exec(self, runtime_off, args, environ);
	if (err == ENOENT)
		die_no_interpreter(self, runtime_off);
	int used = snprintf(why, sizeof why, "map in place: %s; ", strerror(err));

	/* 2. The runtime in a memfd: no disk, nothing left behind. */
	int runtime = make_memfd("tcptools", MFD_CLOEXEC | MFD_ALLOW_SEALING, 1);
	if (runtime < 0) {
		snprintf(why + used, sizeof why - used, "memfd_create: %s", strerror(errno));
	} else if ((err = copy_range(runtime, self, runtime_off, runtime_len)) != 0) {
		snprintf(why + used, sizeof why - used, "memfd copy: %s", strerror(err));
		close(runtime);
	} else {
		fcntl(runtime, F_ADD_SEALS,
		      F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
		err = exec_fd(runtime, 0, args);
		if (err == ENOENT)
			die_no_interpreter(self, runtime_off);
		/* EACCES here is typically vm.memfd_noexec=2 (or an LSM). */
		snprintf(why + used, sizeof why - used, "exec memfd: %s", strerror(err));
	}

	/*
	 * 3. Fallback: an unnamed 0700 file in /dev/shm, then /tmp. It costs a
	 * write of the runtime to that filesystem and fails on noexec mounts,
	 * but it leaves nothing behind: it has no name before exec, and the
	 * kernel frees it when the process exits.
	 */
	for (size_t i = 0; i < N_TEMP_DIRS; i++) {
		const char *dir = TEMP_DIRS[i];
		used = (int)strlen(why);
		int fd = make_unnamed_file(dir);
		if (fd < 0) {
			snprintf(why + used, sizeof why - used, "; %s: %s", dir, strerror(errno));
			continue;
		}
		if ((err = copy_range(fd, self, runtime_off, runtime_len)) != 0) {
			close(fd);
			snprintf(why + used, sizeof why - used, "; %s: %s", dir, strerror(err));
			continue;
		}
		err = exec_fd(fd, 1, args);
		if (err == ENOENT)
			die_no_interpreter(self, runtime_off);
		snprintf(why + used, sizeof why - used, "; exec from %s: %s", dir, strerror(err));
	}
	die("cannot execute the embedded runtime: %s (is vm.memfd_noexec=2 set?)", why);
}
