/* A local user holding many TCP sessions open, as an attacker of a tracer's
 * per-socket maps would: in a network namespace of its own (run it under
 * `unshare -rn`), PROCESSES processes each connect CONNECTIONS times to a
 * listener of their own and accept every one, holding both ends (two
 * sockets per connection; an open-file limit is per process, so the sockets
 * are spread over processes). Prints "ready N" (N sockets) once all are
 * open, then holds them until stdin ends.
 *
 * usage: socket_hoard PROCESSES CONNECTIONS */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A new network namespace's loopback is down. */
static void loopback_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket");
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS");
	close(fd);
}

static void hoard(int connections, int ready)
{
	struct sockaddr_in address = {.sin_family = AF_INET};
	socklen_t length = sizeof(address);
	struct rlimit files;
	int listener;

	if (getrlimit(RLIMIT_NOFILE, &files) < 0)
		die("getrlimit");
	files.rlim_cur = files.rlim_max;
	if ((rlim_t)(2 * connections + 16) > files.rlim_cur) {
		fprintf(stderr, "socket_hoard: %d connections need more open files than %lu\n",
			connections, (unsigned long)files.rlim_cur);
		exit(1);
	}
	if (setrlimit(RLIMIT_NOFILE, &files) < 0)
		die("setrlimit");

	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0 ||
	    listen(listener, 4096) < 0 ||
	    getsockname(listener, (struct sockaddr *)&address, &length) < 0)
		die("listener");
	for (int i = 0; i < connections; i++) {
		int client = socket(AF_INET, SOCK_STREAM, 0);
		if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof(address)) < 0)
			die("connect");
		if (accept(listener, 0, 0) < 0)
			die("accept");
	}
	if (write(ready, "", 1) != 1)
		die("write");
	for (;;)
		pause(); /* until the parent ends it */
}

int main(int argc, char **argv)
{
	int processes, connections, ready[2];
	pid_t children[64];
	char byte;

	if (argc != 3 || (processes = atoi(argv[1])) < 1 || processes > 64 ||
	    (connections = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: socket_hoard PROCESSES CONNECTIONS\n");
		return 2;
	}
	loopback_up();
	if (pipe(ready) < 0)
		die("pipe");
	for (int i = 0; i < processes; i++) {
		children[i] = fork();
		if (children[i] < 0)
			die("fork");
		if (children[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(ready[0]);
			hoard(connections, ready[1]);
		}
	}
	close(ready[1]);
	for (int i = 0; i < processes; i++) {
		if (read(ready[0], &byte, 1) != 1) {
			fprintf(stderr, "socket_hoard: a process failed\n");
			for (int j = 0; j < processes; j++)
				kill(children[j], SIGKILL);
			return 1;
		}
	}
	printf("ready %ld\n", 2L * processes * connections);
	fflush(stdout);
	while (read(0, &byte, 1) > 0)
		;
	for (int i = 0; i < processes; i++)
		kill(children[i], SIGKILL);
	for (int i = 0; i < processes; i++)
		waitpid(children[i], 0, 0);
	return 0;
}
