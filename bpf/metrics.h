/* The one definition of what tcptools metrics counts in the kernel: the
 * slots of its per-CPU counter array, the histogram bucket bounds, and the
 * key of its per-port accept counters. The build generates their TypeScript
 * names (gen/metrics.ts) from the object's BTF. */
#ifndef TCPTOOLS_METRICS_H
#define TCPTOOLS_METRICS_H

/* The upper bounds (`le`) of the histogram buckets, in microseconds: 10 µs
 * to 100 s in 1-2.5-5 steps. One more bucket (+Inf) follows the last. */
#define METRICS_BOUNDS(X)                                                              \
	X(10) X(25) X(50) X(100) X(250) X(500) X(1000) X(2500) X(5000) X(10000) X(25000) \
	X(50000) X(100000) X(250000) X(500000) X(1000000) X(2500000) X(5000000)          \
	X(10000000) X(25000000) X(50000000) X(100000000)

#define METRICS_BOUND_NAME(us) METRICS_LE_##us##_US = us,
/* Generated as MetricsBoundUs: the bounds, in this order. */
enum metrics_bound_us { METRICS_BOUNDS(METRICS_BOUND_NAME) };

#define METRICS_BOUND_COUNT(us) +1
#define METRICS_BUCKETS (1 METRICS_BOUNDS(METRICS_BOUND_COUNT))

/* Address families as counter indexes. */
#define METRICS_FAMILIES 2 /* 0: AF_INET, 1: AF_INET6 */
#define METRICS_OUTCOMES 6 /* enum connect_outcome (bpf/connect.h) */

/* Where each counter lives in metric_values (a per-CPU array of __u64). A
 * histogram is METRICS_BUCKETS counts (not cumulative) and then the sum of
 * its observations in nanoseconds. */
enum metrics_slot {
	/* connect() answers, by outcome * METRICS_FAMILIES + family */
	METRICS_CONNECTS = 0,
	/* sessions closed, sent and received payload bytes, by family */
	METRICS_SESSIONS_CLOSED = METRICS_CONNECTS + METRICS_OUTCOMES * METRICS_FAMILIES,
	METRICS_SENT_BYTES = METRICS_SESSIONS_CLOSED + METRICS_FAMILIES,
	METRICS_RECEIVED_BYTES = METRICS_SENT_BYTES + METRICS_FAMILIES,
	/* from connect() (CLOSE -> SYN_SENT) to the answer */
	METRICS_CONNECT_LATENCY = METRICS_RECEIVED_BYTES + METRICS_FAMILIES,
	/* from the last early state to CLOSE, as tcptools life's span */
	METRICS_SESSION_DURATION = METRICS_CONNECT_LATENCY + METRICS_BUCKETS + 1,
	METRICS_SLOTS = METRICS_SESSION_DURATION + METRICS_BUCKETS + 1,
};

/* Key of the accept counters: the listening port and the family. */
struct metrics_accept_key {
	__u16 port;   /* host order */
	__u16 family; /* AF_INET or AF_INET6 */
};

_Static_assert(sizeof(struct metrics_accept_key) == 4, "metrics_accept_key layout changed");

/* How many (port, family) pairs the accept counters hold; accepts of others
 * are counted in the accept_ports_overflow counter. */
#define METRICS_MAX_ACCEPT_PORTS 1024

#endif
