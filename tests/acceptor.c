/* A TCP server for the accept end-to-end tests, with the accept styles the
 * tracer must attribute correctly: accept(), accept4(), a non-blocking
 * epoll loop, and several worker processes sharing one listener.
 *
 *   tt-acceptor HOST accept|accept4|epoll WORKERS
 *
 * Prints the listener's port, then one JSON line per accepted connection
 * ({"pid","lport","rport"}), closing each at once; runs until killed. HOST
 * "::" is a dual-stack listener (IPv4 clients appear as ::ffff:a.b.c.d). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(int fd)
{
	struct sockaddr_storage local, remote;
	socklen_t ll = sizeof local, rl = sizeof remote;
	getsockname(fd, (struct sockaddr *)&local, &ll);
	getpeername(fd, (struct sockaddr *)&remote, &rl);
	/* sin_port and sin6_port sit at the same offset. */
	printf("{\"pid\":%d,\"lport\":%d,\"rport\":%d}\n", getpid(),
	       ntohs(((struct sockaddr_in *)&local)->sin_port),
	       ntohs(((struct sockaddr_in *)&remote)->sin_port));
	fflush(stdout);
	close(fd);
}

static void serve(int listener, const char *style)
{
	if (strcmp(style, "epoll") != 0) {
		for (;;) {
			int fd = strcmp(style, "accept") == 0 ? accept(listener, NULL, NULL)
							      : accept4(listener, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				report(fd);
		}
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = listener };
	epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
	for (;;) {
		if (epoll_wait(ep, &ev, 1, -1) < 1)
			continue;
		int fd;
		/* Non-blocking: drain until EAGAIN, as event loops do. */
		while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			report(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	struct sockaddr_storage addr = { 0 };
	socklen_t len;
	int v6 = strchr(argv[1], ':') != NULL, on = 1, off = 0;
	int listener = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
		setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, argv[1], &a->sin6_addr);
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&addr;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, argv[1], &a->sin_addr);
		len = sizeof *a;
	}
	if (bind(listener, (struct sockaddr *)&addr, len) || listen(listener, 64)) {
		perror("listen");
		return 1;
	}
	getsockname(listener, (struct sockaddr *)&addr, &len);
	printf("{\"port\":%d}\n", ntohs(((struct sockaddr_in *)&addr)->sin_port));
	fflush(stdout);
	int workers = atoi(argv[3]);
	for (int i = 1; i < workers; i++)
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* the test kills the first one */
			serve(listener, argv[2]);
		}
	serve(listener, argv[2]);
	return 0;
}
