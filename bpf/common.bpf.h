/* Pieces every tcptools program shares: the event ring buffer, the counter of
 * events lost when it is full, and the port-list filter. User space finds the
 * maps by these names. */
#ifndef TCPTOOLS_COMMON_BPF_H
#define TCPTOOLS_COMMON_BPF_H

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* User space sizes it before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* One slot, per CPU: incremented whenever the ring buffer has no room, so a
 * full buffer is reported as a count instead of silently dropping events. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

/* Atomic although the counter is per CPU: a softirq can interrupt the
 * handler between reading and writing it, and a plain += would then drop
 * one of the two counts (seen under overload as a session neither printed
 * nor counted). */
static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);
	if (lost)
		__sync_fetch_and_add(lost, 1);
}

static __always_inline void *reserve_event(__u64 size)
{
	void *event = bpf_ringbuf_reserve(&events, size, 0);
	if (!event)
		count_lost();
	return event;
}

/* The kernel skips a tracing program when its tracepoint fires again on a
 * CPU where it is already running (a softirq interrupting it: kernel/trace/
 * bpf_trace.c, __bpf_trace_run, counts it in the program's recursion_misses).
 * Each tool therefore attaches its handler twice. The primary first notes
 * the hit it is about to handle in a small per-CPU ring; the backup, which
 * runs on every hit too, handles the hits the primary did not note: those it
 * was skipped for, even when the interruption came before its first
 * instruction. A hit is lost only if both were running; user space reports
 * primary misses minus rescued hits.
 *
 * Two slots: the hit the backup is looking for is the primary's last note,
 * or the one before when a hit nested into the backup was noted meanwhile.
 * More slots would match stale notes more often (see hit_id). */
#define RECENT_HITS 2

struct recent_hits {
	__u64 id[RECENT_HITS];
	__u64 next;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct recent_hits);
} primary_hits SEC(".maps");

/* Per CPU: hits the backup handled because the primary was skipped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rescued_events SEC(".maps");

/* Names a state change: the socket's address (kernel pointers' top byte is
 * all ones, so shifting it out loses nothing), both states (each below 16)
 * and the socket's ports. The ports matter: a freed socket's address is
 * reused at once, and a new connection on it can repeat the previous one's
 * transition on another CPU, which an address alone would confuse with a
 * stale note. The verifier forbids arithmetic on the trusted socket pointer,
 * so its value is copied out of the tracepoint arguments as a plain number. */
static __always_inline __u64 hit_id(const __u64 *ctx, const struct sock *sk, int oldstate,
				    int newstate)
{
	__u64 addr = 0;
	__u64 sport = BPF_CORE_READ((struct inet_sock *)sk, inet_sport);
	__u64 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);

	bpf_probe_read_kernel(&addr, sizeof(addr), &ctx[0]);
	return ((addr << 8) | ((__u64)(oldstate & 0xf) << 4) | (newstate & 0xf)) ^ (sport << 48) ^
	       (dport << 32);
}

static __always_inline void note_primary_hit(__u64 id)
{
	__u32 zero = 0;
	struct recent_hits *hits = bpf_map_lookup_elem(&primary_hits, &zero);
	if (hits) {
		hits->id[hits->next % RECENT_HITS] = id;
		hits->next++;
	}
}

/* In the backup: was this a hit the primary did not take? Counts it. */
static __always_inline int primary_missed(__u64 id)
{
	__u32 zero = 0;
	struct recent_hits *hits = bpf_map_lookup_elem(&primary_hits, &zero);
	if (!hits)
		return 0;
	for (int i = 0; i < RECENT_HITS; i++)
		if (hits->id[i] == id)
			return 0;
	__u64 *rescued = bpf_map_lookup_elem(&rescued_events, &zero);
	if (rescued)
		__sync_fetch_and_add(rescued, 1); /* atomic: see count_lost */
	return 1;
}

/* Declares the primary and the backup program of a tracepoint handler
 * `handle(sk, oldstate, newstate)`. */
#define SET_STATE_HANDLERS(primary, backup, handle)                                      \
	SEC("tp_btf/inet_sock_set_state")                                                 \
	int BPF_PROG(primary, const struct sock *sk, int oldstate, int newstate)          \
	{                                                                                 \
		note_primary_hit(hit_id(ctx, sk, oldstate, newstate));                         \
		handle(sk, oldstate, newstate);                                           \
		return 0;                                                                 \
	}                                                                                 \
	SEC("tp_btf/inet_sock_set_state")                                                 \
	int BPF_PROG(backup, const struct sock *sk, int oldstate, int newstate)           \
	{                                                                                 \
		if (primary_missed(hit_id(ctx, sk, oldstate, newstate)))                       \
			handle(sk, oldstate, newstate);                                   \
		return 0;                                                                 \
	}

/* A port list (-P, -L, -D) is a small hash of allowed ports, filled by user
 * space between load and attach; the program consults it only when the
 * matching const volatile flag is set, so the verifier prunes it otherwise. */
#define PORT_FILTER_MAP(name)                        \
	struct {                                     \
		__uint(type, BPF_MAP_TYPE_HASH);     \
		__uint(max_entries, 1024);           \
		__type(key, __u16);                  \
		__type(value, __u8);                 \
	} name SEC(".maps")

static __always_inline int port_listed(void *map, __u16 port)
{
	return bpf_map_lookup_elem(map, &port) != 0;
}

/* inet_sock_set_state also fires for other protocols on inet sockets (SCTP,
 * MPTCP's own socket): only TCP sockets are traced. */
static __always_inline int is_tcp(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline __u32 current_pid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* Reads a socket's addresses: 4 bytes each for AF_INET, 16 for AF_INET6. */
static __always_inline void read_addresses(const struct sock *sk, __u16 family,
					   __u8 *laddr, __u8 *raddr)
{
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__be32 *)laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)raddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)raddr, sk, __sk_common.skc_v6_daddr);
	}
}

#endif
