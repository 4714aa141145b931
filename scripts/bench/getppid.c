/*
 * System-call cost probe for scripts/bench.ts: what a tracer adds to every
 * system call on the machine (e.g. through a raw sys_exit hook).
 *
 * usage: getppid CALLS REPS
 *
 * Times CALLS getppid() calls REPS times and prints the fastest repetition's
 * ns per call: other load on the machine (preemption, interrupts) only ever
 * adds time, while a tracer's hook costs every call alike.
 * It goes through syscall(SYS_getppid) so no libc can answer from a cache:
 * every call enters and leaves the kernel.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  long calls = argc == 3 ? atol(argv[1]) : 0;
  int reps = argc == 3 ? atoi(argv[2]) : 0;
  if (calls < 1 || reps < 1) {
    fprintf(stderr, "usage: %s CALLS REPS\n", argv[0]);
    return 2;
  }
  double fastest = 0;
  for (int r = 0; r < reps; r++) {
    double start = now_ns();
    for (long i = 0; i < calls; i++) syscall(SYS_getppid);
    double ns = (now_ns() - start) / calls;
    if (r == 0 || ns < fastest) fastest = ns;
  }
  printf("%.1f\n", fastest);
  return 0;
}
