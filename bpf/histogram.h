/* What --hist counts in the kernel (bpf/histogram.bpf.h), for tcptools life
 * and connlat: one count per histogram key and power-of-two slot. The build
 * generates the TypeScript names and the key's decoder into gen/life.ts and
 * gen/connect.ts, from each object's BTF. */
#ifndef TCPTOOLS_HISTOGRAM_H
#define TCPTOOLS_HISTOGRAM_H

/* What a histogram counts (the hist_value global). */
enum hist_value {
	HIST_OFF = 0,   /* no histogram: one event per connect or session */
	HIST_TIME = 1,  /* connect latency (connlat), session duration (life): in hist_unit_ns */
	HIST_BYTES = 2, /* payload bytes of a session, both ways together (life) */
};

/* What each histogram is for (--hist-by, the hist_by global). */
enum hist_by {
	HIST_BY_NONE = 0, /* one histogram */
	HIST_BY_PID = 1,  /* one per process */
	HIST_BY_COMM = 2, /* one per process name */
	HIST_BY_PORT = 3, /* one per port: connlat's destination, life's server port */
};

/* One slot of one histogram: the key of the `hists` map, whose value is its
 * count (__u64). */
struct hist_key {
	char comm[16]; /* HIST_BY_COMM: the process name; otherwise zero */
	__u32 id;      /* HIST_BY_PID: the PID; HIST_BY_PORT: the port; otherwise 0 */
	__u32 slot;    /* values from 2^(slot-1) to 2^slot - 1; slot 1 also holds 0 */
};

_Static_assert(sizeof(struct hist_key) == 24, "hist_key layout changed");

#endif
