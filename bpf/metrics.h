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

/* Where each counter lives in metric_values (a per-CPU array of __u64), and
 * in overflow_values, which has the same layout and counts what the label
 * sets could not (the map was full). A histogram is METRICS_BUCKETS counts
 * (not cumulative) and then the sum of its observations in nanoseconds. */
enum metrics_slot {
	/* connect() answers, by outcome * METRICS_FAMILIES + family */
	METRICS_CONNECTS = 0,
	/* accepts, sessions closed, sent and received payload bytes, by family */
	METRICS_ACCEPTS = METRICS_CONNECTS + METRICS_OUTCOMES * METRICS_FAMILIES,
	METRICS_SESSIONS_CLOSED = METRICS_ACCEPTS + METRICS_FAMILIES,
	METRICS_SENT_BYTES = METRICS_SESSIONS_CLOSED + METRICS_FAMILIES,
	METRICS_RECEIVED_BYTES = METRICS_SENT_BYTES + METRICS_FAMILIES,
	/* from connect() (CLOSE -> SYN_SENT) to the answer */
	METRICS_CONNECT_LATENCY = METRICS_RECEIVED_BYTES + METRICS_FAMILIES,
	/* from the last early state to CLOSE, as tcptools life's span */
	METRICS_SESSION_DURATION = METRICS_CONNECT_LATENCY + METRICS_BUCKETS + 1,
	METRICS_SLOTS = METRICS_SESSION_DURATION + METRICS_BUCKETS + 1,
};

/* What a label set counts (metrics_key.kind). */
enum metrics_kind {
	METRICS_KIND_CONNECT = 1, /* connect() answers */
	METRICS_KIND_ACCEPT = 2,  /* accepts */
	METRICS_KIND_SESSION = 3, /* sessions closed, with their bytes */
};

/* A label set: accepts always have one (the listening port); connects and
 * sessions only under --label. The fields --label did not ask for are 0. */
struct metrics_key {
	__u64 cgroup;   /* --label cgroup: the socket's cgroup v2 id */
	char comm[16];  /* --label comm: the caller of connect(), the accepting
			 * process, the session's owner ("-": none) */
	__u16 lport;    /* --label lport, and accepts: the local port, host order */
	__u16 rport;    /* --label rport: the remote port, host order */
	__u16 family;   /* AF_INET or AF_INET6 */
	__u8 kind;      /* enum metrics_kind */
	__u8 outcome;   /* connects: enum connect_outcome */
};

_Static_assert(sizeof(struct metrics_key) == 32, "metrics_key layout changed");

/* The counts of a label set. */
struct metrics_counts {
	__u64 count;          /* connects, accepts or sessions */
	__u64 sent_bytes;     /* sessions: payload bytes sent and acknowledged */
	__u64 received_bytes; /* sessions: payload bytes received */
};

_Static_assert(sizeof(struct metrics_counts) == 24, "metrics_counts layout changed");

#endif
