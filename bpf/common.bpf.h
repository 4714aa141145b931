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

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);
	if (lost)
		*lost += 1;
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
 * Each tool therefore attaches its handler twice: the primary marks itself
 * busy while it runs, and the backup, which runs on every hit too, handles
 * only the hits that found the primary busy, i.e. the ones it was skipped
 * for. A hit is lost only if both were running; user space reports
 * primary misses minus rescued hits. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} primary_busy SEC(".maps");

/* Per CPU: hits the backup handled because the primary was busy. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rescued_events SEC(".maps");

static __always_inline __u64 *primary_flag(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&primary_busy, &zero);
}

/* In the backup: was this hit one the primary was skipped for? Counts it. */
static __always_inline int primary_was_busy(void)
{
	__u64 *busy = primary_flag();
	if (!busy || !*busy)
		return 0;
	__u32 zero = 0;
	__u64 *rescued = bpf_map_lookup_elem(&rescued_events, &zero);
	if (rescued)
		*rescued += 1;
	return 1;
}

/* Declares the primary and the backup program of a tracepoint handler
 * `handle(sk, oldstate, newstate)`. */
#define SET_STATE_HANDLERS(primary, backup, handle)                                      \
	SEC("tp_btf/inet_sock_set_state")                                                 \
	int BPF_PROG(primary, const struct sock *sk, int oldstate, int newstate)          \
	{                                                                                 \
		__u64 *busy = primary_flag();                                             \
		if (busy)                                                                 \
			*busy = 1;                                                        \
		handle(sk, oldstate, newstate);                                           \
		if (busy)                                                                 \
			*busy = 0;                                                        \
		return 0;                                                                 \
	}                                                                                 \
	SEC("tp_btf/inet_sock_set_state")                                                 \
	int BPF_PROG(backup, const struct sock *sk, int oldstate, int newstate)           \
	{                                                                                 \
		if (primary_was_busy())                                                   \
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
