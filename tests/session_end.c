/* One end of one TCP session, driven step by step by the test, so that each
 * close path (FIN first or second, RST sent or received, timeout) happens in
 * a known process at a known moment.
 *
 *   tt-end COMM listen HOST        prints {"pid":P,"port":N}
 *   tt-end COMM connect HOST PORT  prints {"pid":P}
 *
 * Then one command per stdin line, one JSON line on stdout per command:
 *   accept | connect     {"lport":L,"rport":R}
 *   send N | recv N      {"sent":N} | {"received":N}
 *   linger0              SO_LINGER on, 0 s: close() sends RST       {"ok":1}
 *   user_timeout MS      TCP_USER_TIMEOUT                           {"ok":1}
 *   shutdown             shutdown(SHUT_WR): our FIN, fd stays open  {"ok":1}
 *   eof                  reads until end of stream: {"eof":0} or {"eof":errno}
 *   close                close() the session's socket               {"ok":1}
 *   handoff              a child process named tt-heir takes over the socket
 *                        and the commands; the parent closes its descriptor
 *                        and waits for it                           {"pid":C}
 * A failed command prints {"error":errno}. Exits at the end of stdin. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_storage peer_addr;
static socklen_t peer_len;

static void address(const char *host, int port)
{
	memset(&peer_addr, 0, sizeof peer_addr);
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&peer_addr;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, host, &a->sin6_addr);
		peer_len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&peer_addr;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, host, &a->sin_addr);
		peer_len = sizeof *a;
	}
}

/* sin_port and sin6_port sit at the same offset. */
static int port_of(struct sockaddr_storage *a)
{
	return ntohs(((struct sockaddr_in *)a)->sin_port);
}

static void ports(int fd)
{
	struct sockaddr_storage local, remote;
	socklen_t ll = sizeof local, rl = sizeof remote;
	getsockname(fd, (struct sockaddr *)&local, &ll);
	getpeername(fd, (struct sockaddr *)&remote, &rl);
	printf("{\"lport\":%d,\"rport\":%d}\n", port_of(&local), port_of(&remote));
}

int main(int argc, char **argv)
{
	static char buf[65536];
	char line[128];
	int listener = -1, fd = -1, on = 1;

	if (argc < 4)
		return 2;
	prctl(PR_SET_NAME, argv[1]);
	address(argv[3], argc > 4 ? atoi(argv[4]) : 0);
	if (strcmp(argv[2], "listen") == 0) {
		listener = socket(peer_addr.ss_family, SOCK_STREAM, 0);
		setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
		if (bind(listener, (struct sockaddr *)&peer_addr, peer_len) || listen(listener, 16)) {
			perror("listen");
			return 1;
		}
		struct sockaddr_storage bound;
		socklen_t len = sizeof bound;
		getsockname(listener, (struct sockaddr *)&bound, &len);
		printf("{\"pid\":%d,\"port\":%d}\n", getpid(), port_of(&bound));
	} else {
		printf("{\"pid\":%d}\n", getpid());
	}
	fflush(stdout);

	while (fgets(line, sizeof line, stdin)) {
		long n = 0;
		char *arg = strchr(line, ' ');
		if (arg)
			n = atol(arg + 1);
		int rc = 0;
		if (strncmp(line, "accept", 6) == 0) {
			fd = accept(listener, NULL, NULL);
			if (fd >= 0) {
				ports(fd);
				goto next;
			}
			rc = -1;
		} else if (strncmp(line, "connect", 7) == 0) {
			fd = socket(peer_addr.ss_family, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&peer_addr, peer_len) == 0) {
				ports(fd);
				goto next;
			}
			rc = -1;
		} else if (strncmp(line, "send", 4) == 0) {
			memset(buf, 'x', sizeof buf);
			for (long sent = 0; sent < n && rc >= 0; sent += rc)
				rc = write(fd, buf, n - sent < (long)sizeof buf ? n - sent : (long)sizeof buf);
			if (rc >= 0) {
				printf("{\"sent\":%ld}\n", n);
				goto next;
			}
		} else if (strncmp(line, "recv", 4) == 0) {
			for (long got = 0; got < n && rc >= 0; got += rc) {
				rc = read(fd, buf, n - got < (long)sizeof buf ? n - got : (long)sizeof buf);
				if (rc == 0)
					rc = -1, errno = 0;
			}
			if (rc >= 0) {
				printf("{\"received\":%ld}\n", n);
				goto next;
			}
		} else if (strncmp(line, "linger0", 7) == 0) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		} else if (strncmp(line, "user_timeout", 12) == 0) {
			unsigned int ms = n;
			rc = setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
		} else if (strncmp(line, "shutdown", 8) == 0) {
			rc = shutdown(fd, SHUT_WR);
		} else if (strncmp(line, "eof", 3) == 0) {
			while ((rc = read(fd, buf, sizeof buf)) > 0)
				;
			printf("{\"eof\":%d}\n", rc == 0 ? 0 : errno);
			goto next;
		} else if (strncmp(line, "handoff", 7) == 0) {
			pid_t heir = fork();
			if (heir == 0) {
				prctl(PR_SET_NAME, "tt-heir");
				printf("{\"pid\":%d}\n", getpid());
				goto next;
			}
			if (heir > 0) {
				close(fd);
				waitpid(heir, NULL, 0);
				return 0;
			}
			rc = -1;
		} else if (strncmp(line, "close", 5) == 0) {
			rc = close(fd);
		} else {
			rc = -1;
			errno = EINVAL;
		}
		if (rc < 0)
			printf("{\"error\":%d}\n", errno);
		else
			printf("{\"ok\":1}\n");
next:
		fflush(stdout);
	}
	return 0;
}
