/*
 * command_exec: how tcptools starts the command of command mode
 * (`tcptools <tool> -- CMD`). tcptools (src/trace/command.ts) writes this
 * static executable, embedded in gen/assets.ts, to a memory file and runs it
 * by its /proc/self/fd path: nothing is looked up through PATH as root, and
 * no user's argv of tcptools can reach it.
 *
 *   command_exec CGROUP_DIR UID GID GROUPS -- CMD [ARGS...]
 *
 * UID, GID and GROUPS (comma-separated, possibly empty) are checked decimal
 * numbers of the sudo user, or "-" for all three when CMD keeps root. The
 * environment is CMD's. This process stays root, outside the cgroup and not
 * dumpable (the user cannot ptrace it); its child enters the cgroup, starts a
 * session of its own, drops to the user and execs CMD with every signal at
 * its default and no descriptor but 0, 1 and 2. When any of those is a
 * terminal, CMD gets a pseudo-terminal of its own in their place, relayed
 * here (as sudo's use_pty does): nothing CMD leaves behind can push input
 * into (TIOCSTI) or read from the terminal of the root who ran tcptools.
 * INT, TERM and HUP from tcptools go to CMD. If tcptools dies (SIGKILL),
 * CMD's whole cgroup is killed (cgroup.kill: nothing it started runs on
 * untraced) and removed. Exits with CMD's
 * status, 128+N if signal N killed it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_GROUPS 65536

static const char *cgroup_dir;
static int tty_fd = -1; /* root's terminal, while in raw mode */
static struct termios tty_saved;

static void restore_terminal(void)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
}

static void die(int status, const char *format, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, format);
	vsnprintf(line, sizeof line, format, ap);
	va_end(ap);
	restore_terminal();
	dprintf(2, "tcptools: %s\n", line);
	_exit(status);
}

/* A decimal id below 2^32-1 ((uid_t)-1 means "unchanged" to the kernel). */
static unsigned parse_id(const char *text)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (!*text || *text < '0' || *text > '9' || *end || errno || v >= 0xffffffffULL)
		die(1, "command: bad id %s", text);
	return (unsigned)v;
}

/* Returns 0, or -1 with errno set. */
static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	int e = errno;
	close(fd);
	errno = e;
	return ok ? 0 : -1;
}

/* Before Linux 5.14 (no cgroup.kill): each process listed, until none is. */
static void kill_each(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/cgroup.procs", cgroup_dir);
	for (int round = 0; round < 100; round++) {
		FILE *procs = fopen(path, "re");
		if (!procs)
			return;
		int pid, any = 0;
		while (fscanf(procs, "%d", &pid) == 1) {
			kill(pid, SIGKILL);
			any = 1;
		}
		fclose(procs);
		if (!any)
			return;
	}
}

/* In the child, as root: cgroup, session, terminal; then the drop, then CMD. */
static void start_command(char **argv, const char *uid_text, const char *gid_text,
			  const char *groups_text, const char *slave, const int *on_tty)
{
	char pid[24];
	snprintf(pid, sizeof pid, "%d", getpid());
	if (write_file(cgroup_dir, "cgroup.procs", pid) < 0)
		die(1, "cannot enter the cgroup %s: %s", cgroup_dir, strerror(errno));
	if (setsid() < 0)
		die(1, "setsid: %s", strerror(errno));
	if (slave) {
		int s = open(slave, O_RDWR | O_NOCTTY);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
			die(1, "cannot open the pseudo-terminal %s: %s", slave, strerror(errno));
		for (int fd = 0; fd < 3; fd++)
			if (on_tty[fd] && dup2(s, fd) < 0)
				die(1, "dup2: %s", strerror(errno));
		if (s > 2)
			close(s);
	}
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (strcmp(uid_text, "-") != 0) {
		uid_t uid = parse_id(uid_text);
		gid_t gid = parse_id(gid_text);
		static gid_t groups[MAX_GROUPS];
		size_t n = 0;
		for (char *p = (char *)groups_text; *p && n < MAX_GROUPS;) {
			char *comma = strchr(p, ',');
			if (comma)
				*comma = 0;
			groups[n++] = parse_id(p);
			p = comma ? comma + 1 : p + strlen(p);
		}
		if (uid == 0 || gid == 0)
			die(1, "command: refusing to run as uid %u gid %u", uid, gid);
		if (setgroups(n, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			die(1, "cannot drop to uid %u gid %u: %s", uid, gid, strerror(errno));
		/* The drop took, all of it: no way back to root. */
		uid_t r, e, s;
		gid_t gr, ge, gs;
		if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
		    getresgid(&gr, &ge, &gs) < 0 || gr != gid || ge != gid || gs != gid ||
		    setuid(0) == 0 || setgid(0) == 0)
			die(1, "cannot drop to uid %u gid %u", uid, gid);
	}
	execvp(argv[0], argv);
	die(errno == ENOENT ? 127 : 126, "cannot run %s: %s", argv[0], strerror(errno));
}

/*
 * Every signal at its default, none blocked: what tcptools ignores, CMD must
 * not. Through the system call, since glibc's sigaction refuses the two
 * real-time signals it keeps for itself (32, 33), which the runtime ignores.
 */
static void default_signals(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		unsigned long mask;
	} dfl = {.handler = SIG_DFL};
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int write_all(int fd, const char *buf, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= w;
	}
	return 0;
}

/* tcptools died: kill what CMD started, wait for the cgroup to empty, remove it. */
static void kill_cgroup(pid_t child)
{
	restore_terminal();
	if (write_file(cgroup_dir, "cgroup.kill", "1") < 0)
		kill_each();
	waitpid(child, NULL, 0);
	for (int i = 0; i < 500 && rmdir(cgroup_dir) < 0 && errno == EBUSY; i++)
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	_exit(128 + SIGKILL);
}

int main(int argc, char **argv)
{
	if (argc < 7 || strcmp(argv[5], "--") != 0)
		die(1, "command_exec: usage: CGROUP_DIR UID GID GROUPS -- CMD [ARGS...]");
	cgroup_dir = argv[1];
	pid_t tcptools = getppid();
	prctl(PR_SET_DUMPABLE, 0);
	/*
	 * Sent when the thread of tcptools that started us exits: a signal
	 * tcptools never passes on, checked against getppid() (the thread may
	 * exit without the process).
	 */
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	default_signals();

	int on_tty[3];
	int outer = -1; /* the terminal: the first std fd that is one */
	for (int fd = 0; fd < 3; fd++) {
		on_tty[fd] = isatty(fd);
		if (on_tty[fd] && outer < 0)
			outer = fd;
	}
	int master = -1;
	const char *slave = NULL;
	if (outer >= 0) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
		    !(slave = ptsname(master)))
			die(1, "cannot open a pseudo-terminal: %s", strerror(errno));
		/*
		 * Held open here until we exit, so that the master does not hang up
		 * before CMD has opened its end. The pty starts as the terminal is
		 * (modes, size); CMD's own changes stay on it.
		 */
		int held = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (held < 0)
			die(1, "cannot open the pseudo-terminal %s: %s", slave, strerror(errno));
		struct termios modes;
		struct winsize size;
		if (tcgetattr(outer, &modes) == 0) {
			/*
			 * No suspend key: CMD stopped from its terminal would leave
			 * root's in raw mode with nobody to resume CMD.
			 */
			modes.c_cc[VSUSP] = _POSIX_VDISABLE;
			tcsetattr(held, TCSANOW, &modes);
		}
		if (ioctl(outer, TIOCGWINSZ, &size) == 0)
			ioctl(master, TIOCSWINSZ, &size);
	}

	sigset_t handled;
	sigemptyset(&handled);
	int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGCHLD, SIGUSR1};
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&handled, forwarded[i]);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	int signals = signalfd(-1, &handled, SFD_CLOEXEC);
	if (signals < 0)
		die(1, "signalfd: %s", strerror(errno));
	if (getppid() != tcptools) {
		rmdir(cgroup_dir);
		_exit(128 + SIGKILL);
	}

	pid_t child = fork();
	if (child < 0)
		die(1, "fork: %s", strerror(errno));
	if (child == 0) {
		default_signals();
		start_command(argv + 6, argv[2], argv[3], argv[4], slave, on_tty);
	}

	/*
	 * Run in the background (`tcptools ... &`), a read of the terminal
	 * fails instead of stopping us, and its modes are left alone.
	 */
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	if (outer >= 0 && tcgetpgrp(outer) == getpgrp() && tcgetattr(outer, &tty_saved) == 0) {
		struct termios raw = tty_saved;
		cfmakeraw(&raw);
		/* tcptools writes its own lines there meanwhile: NL still ends a line. */
		raw.c_oflag = tty_saved.c_oflag;
		if (tcsetattr(outer, TCSAFLUSH, &raw) == 0)
			tty_fd = outer;
	}
	/* Which of ours CMD's terminal output goes to: stdout if that is the terminal. */
	int out = on_tty[1] ? 1 : on_tty[2] ? 2 : -1;
	int in_open = on_tty[0];
	int status = 0;
	int done = 0;
	char buf[4096];
	while (!done) {
		struct pollfd fds[3] = {
			{.fd = signals, .events = POLLIN},
			{.fd = master, .events = POLLIN},
			{.fd = in_open ? 0 : -1, .events = POLLIN},
		};
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(1, "poll: %s", strerror(errno));
		}
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo info;
			if (read(signals, &info, sizeof info) == sizeof info) {
				int sig = (int)info.ssi_signo;
				if (getppid() != tcptools)
					kill_cgroup(child);
				if (sig == SIGUSR1) {
					/* a thread of tcptools ended, not tcptools */
				} else if (sig == SIGWINCH && outer >= 0) {
					struct winsize size;
					if (ioctl(outer, TIOCGWINSZ, &size) == 0)
						ioctl(master, TIOCSWINSZ, &size);
				} else if (sig == SIGCHLD) {
					if (waitpid(child, &status, WNOHANG) == child)
						done = 1;
				} else {
					kill(child, sig);
				}
			}
		}
		if (master >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(master, buf, sizeof buf);
			if (n > 0 && out >= 0)
				write_all(out, buf, n);
			else if (n <= 0 && errno != EINTR && errno != EAGAIN)
				master = -1; /* no slave open any more */
		}
		if (in_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0)
				write_all(master, buf, n);
			else if (n == 0 || errno != EINTR)
				in_open = 0;
		}
	}
	/* What CMD wrote just before it ended; not what its leftovers write later. */
	if (master >= 0) {
		fcntl(master, F_SETFL, O_NONBLOCK);
		ssize_t n;
		while ((n = read(master, buf, sizeof buf)) > 0)
			if (out >= 0)
				write_all(out, buf, n);
	}
	restore_terminal();
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
