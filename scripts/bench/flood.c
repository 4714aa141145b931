/*
 * Loopback TCP connection flood for scripts/bench.ts.
 *
 * usage: flood SECONDS WORKERS [RATE [PORT]]
 *
 * Listens on 127.0.0.1, port 0 (the kernel picks one), and runs WORKERS client
 * threads that each loop connect() + close() for SECONDS seconds. Prints
 * {"connections":N,"seconds":S,"failed":F,"port":P} on stdout, where N counts
 * only connections that were established and then closed by both ends. With
 * RATE, the workers together make at most RATE connections a second (the
 * soak test's steady load); without it (or with 0), as many as they can.
 * With PORT, the server listens there (a tracer can then filter on it).
 *
 * The server closes first (accept, then close at once) and the client closes
 * after it reads EOF, so TIME_WAIT lands on the server side of each 4-tuple and
 * client ephemeral ports can be reused at once: the flood never runs out of
 * them. It also gives a tracer both close paths: the client socket goes
 * CLOSE_WAIT -> LAST_ACK -> CLOSE, the server socket FIN_WAIT1 -> FIN_WAIT2 ->
 * CLOSE (as it turns into a TIME_WAIT mini socket).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in server;
static double deadline;
static double interval; /* per worker, seconds between connects; 0: none */

struct worker {
  pthread_t thread;
  long connections; /* established, EOF seen, closed */
  long failed;      /* connect refused/reset or unexpected data */
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Accepts and closes at once: the server sends the first FIN. */
static void *acceptor(void *arg) {
  int listener = *(int *)arg;
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd >= 0) {
      close(fd);
    } else if (errno != EINTR && errno != ECONNABORTED) {
      return NULL; /* EINVAL once main shuts the listener down */
    }
  }
}

/* Sleeps until `when` (CLOCK_MONOTONIC seconds). */
static void sleep_until(double when) {
  struct timespec ts = {(time_t)when, (long)((when - (time_t)when) * 1e9)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void *client(void *arg) {
  struct worker *w = arg;
  char byte;
  double next = now();
  while (now() < deadline) {
    if (interval > 0) {
      sleep_until(next);
      next += interval;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      perror("flood: socket");
      exit(1);
    }
    /* On loopback a blocking connect() returns once the handshake is done. */
    int ok = connect(fd, (struct sockaddr *)&server, sizeof server) == 0;
    /* Wait for the server's FIN (read returns 0) before closing, so this
     * end takes the passive-close path and keeps no TIME_WAIT. */
    ok = ok && read(fd, &byte, 1) == 0;
    close(fd);
    if (ok) {
      w->connections++;
    } else {
      w->failed++;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: %s SECONDS WORKERS [RATE [PORT]]\n", argv[0]);
    return 2;
  }
  double seconds = atof(argv[1]);
  int workers = atoi(argv[2]);
  double rate = argc >= 4 ? atof(argv[3]) : 0;
  int port = argc == 5 ? atoi(argv[4]) : 0;
  interval = rate > 0 ? workers / rate : 0;
  if (seconds <= 0 || workers < 1) {
    fprintf(stderr, "flood: bad SECONDS or WORKERS\n");
    return 2;
  }

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(port);
  socklen_t len = sizeof server;
  int one = 1; // a fixed PORT is still held by the last run's TIME_WAIT sockets
  if (listener >= 0) setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listener < 0 || bind(listener, (struct sockaddr *)&server, sizeof server) != 0 ||
      listen(listener, 4096) != 0 || getsockname(listener, (struct sockaddr *)&server, &len) != 0) {
    perror("flood: listen");
    return 1;
  }

  pthread_t accept_thread;
  pthread_create(&accept_thread, NULL, acceptor, &listener);
  struct worker *pool = calloc(workers, sizeof *pool);
  double start = now();
  deadline = start + seconds;
  for (int i = 0; i < workers; i++) pthread_create(&pool[i].thread, NULL, client, &pool[i]);

  long connections = 0, failed = 0;
  for (int i = 0; i < workers; i++) {
    pthread_join(pool[i].thread, NULL);
    connections += pool[i].connections;
    failed += pool[i].failed;
  }
  double elapsed = now() - start;
  /* Every client saw EOF, so every accepted socket is already closed: the
   * listener can go (which also wakes the acceptor out of accept()). */
  shutdown(listener, SHUT_RDWR);
  pthread_join(accept_thread, NULL);
  close(listener);

  printf("{\"connections\":%ld,\"seconds\":%.3f,\"failed\":%ld,\"port\":%d}\n", connections,
         elapsed, failed, ntohs(server.sin_port));
  return 0;
}
