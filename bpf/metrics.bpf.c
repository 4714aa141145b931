// SPDX-License-Identifier: GPL-2.0
/* tcptools metrics: counters and histograms of TCP connects, accepts and
 * sessions, kept in the kernel. No event is sent per connection: user space
 * reads the maps when scraped.
 *
 * The same hooks as tcptools connect, life and accept: the
 * sock:inet_sock_set_state tracepoint (as tp_btf) sees connect() start
 * (CLOSE -> SYN_SENT, in the caller), its answer (SYN_SENT -> next state) and
 * every session's birth and close; the exits of accept() and accept4() see
 * each accepted socket in the accepting process. */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "connect_outcome.bpf.h"
#include "payload_bytes.bpf.h"
#include "metrics.h"

/* What is known about a socket between its birth and its close. */
struct socket_state {
	__u64 birth_ns;   /* the last early-state transition */
	__u64 connect_ns; /* CLOSE -> SYN_SENT in connect(); 0 once answered */
	__u8 syn_acked;   /* went SYN_SENT -> ESTABLISHED */
	__u8 fin_sent;    /* went to FIN_WAIT1 or LAST_ACK */
	__u8 has_owner;   /* a process acted on it in a system call */
	__u8 owner_in_scope; /* that process passed --cgroupmap and --mntnsmap */
};

/* LRU, so sockets whose close is never seen cannot fill it up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct socket_state);
} sockets SEC(".maps");

/* The counters, by enum metrics_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, METRICS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} metric_values SEC(".maps");

/* Accepts by listening port and family: at most METRICS_MAX_ACCEPT_PORTS. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, METRICS_MAX_ACCEPT_PORTS);
	__type(key, struct metrics_accept_key);
	__type(value, __u64);
} accepts SEC(".maps");

/* Sessions that ended without a traced close (see handle_set_state). */
PERCPU_COUNTER(untraced_closes);
/* Accepts not counted by port: the accepts map was full. */
PERCPU_COUNTER(accept_ports_overflow);

/* Put the shared types into the object's BTF, where the build reads them. */
struct metrics_accept_key *unused_metrics_accept_key __attribute__((unused));
enum metrics_slot *unused_metrics_slot __attribute__((unused));
enum metrics_bound_us *unused_metrics_bound_us __attribute__((unused));

/* Atomic although per CPU: a softirq can interrupt the handler between
 * reading and writing the slot (see count_one). */
static __always_inline void add(__u32 slot, __u64 n)
{
	__u64 *value = bpf_map_lookup_elem(&metric_values, &slot);
	if (value)
		__sync_fetch_and_add(value, n);
}

/* The histogram bucket of a duration: the first bound it does not exceed. */
#define METRICS_ABOVE(us) + (ns > us##ULL * 1000)
static __always_inline __u32 bucket_of(__u64 ns)
{
	return 0 METRICS_BOUNDS(METRICS_ABOVE);
}

static __always_inline void observe(__u32 histogram, __u64 ns)
{
	add(histogram + bucket_of(ns), 1);
	add(histogram + METRICS_BUCKETS, ns);
}

static __always_inline __u32 family_index(__u16 family)
{
	return family == AF_INET6 ? 1 : 0;
}

static __always_inline void record_owner(struct socket_state *s)
{
	s->has_owner = 1;
	s->owner_in_scope = task_in_scope();
}

/* SYN_SENT -> ESTABLISHED or CLOSE: the answer to connect(), counted as
 * tcptools connect --json reports it. */
static __always_inline void answered(const struct sock *sk, struct socket_state *s, int newstate,
				     __u32 family, __u64 now)
{
	if (!s->connect_ns)
		return;
	__u64 latency = now - s->connect_ns;
	int error = newstate == TCP_CLOSE ? BPF_CORE_READ(sk, sk_err) : 0;
	s->connect_ns = 0;
	/* No local port: connect() failed before sending a SYN (no free port),
	 * which tcptools connect does not report either. */
	if (!BPF_CORE_READ((struct inet_sock *)sk, inet_sport))
		return;
	add(METRICS_CONNECTS + outcome_of(newstate, error) * METRICS_FAMILIES + family, 1);
	observe(METRICS_CONNECT_LATENCY, latency);
}

/* CLOSE: the session's end, counted as tcptools life prints it. */
static __always_inline void closed(const struct sock *sk, struct socket_state *s, __u32 family,
				   __u64 now)
{
	/* --cgroupmap and --mntnsmap name tasks: they are asked of the owner. */
	if ((filter_cgroupmap || filter_mntnsmap) && !(s->has_owner && s->owner_in_scope))
		return;
	__u8 control = control_sequences(sk, s->syn_acked, s->fin_sent);
	__u64 rx = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	__u64 tx = BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked);

	rx -= (control & LIFE_RX_FIN) ? 1 : 0;
	tx -= ((control & LIFE_TX_SYN) ? 1 : 0) + ((control & LIFE_TX_FIN) ? 1 : 0);
	add(METRICS_SESSIONS_CLOSED + family, 1);
	add(METRICS_SENT_BYTES + family, tx);
	add(METRICS_RECEIVED_BYTES + family, rx);
	observe(METRICS_SESSION_DURATION, now - s->birth_ns);
}

static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;

	if (!is_tcp(sk))
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (!socket_in_scope(sk)) {
		bpf_map_delete_elem(&sockets, &key);
		return 0;
	}
	/* CLOSE -> SYN_SENT runs inside connect(): the caller is current. */
	int connecting = oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT;
	if (connecting && !task_in_scope()) {
		bpf_map_delete_elem(&sockets, &key);
		return 0;
	}

	__u64 now = bpf_ktime_get_ns();
	struct socket_state *s = bpf_map_lookup_elem(&sockets, &key);

	/* Birth is rewritten at every early state, as in bpf/life.bpf.c, which
	 * also explains the sessions ended without a traced close. */
	if (newstate < TCP_FIN_WAIT1) {
		if (s && (oldstate == TCP_CLOSE || oldstate == TCP_LISTEN)) {
			count_one(&untraced_closes);
			*s = (struct socket_state){};
		}
		if (!s) {
			struct socket_state fresh = {};
			bpf_map_update_elem(&sockets, &key, &fresh, BPF_ANY);
			s = bpf_map_lookup_elem(&sockets, &key);
			if (!s)
				return 0;
		}
		s->birth_ns = now;
		if (connecting)
			s->connect_ns = now;
	}
	if (!s)
		return 0; /* born before tracing started */

	__u32 f = family_index(family);
	if (oldstate == TCP_SYN_SENT) {
		answered(sk, s, newstate, f, now);
		if (newstate == TCP_ESTABLISHED)
			s->syn_acked = 1;
	}
	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK)
		s->fin_sent = 1;
	/* The owner, as in bpf/life.bpf.c: a process holding the socket's lock. */
	if (BPF_CORE_READ(sk, sk_lock.owned))
		record_owner(s);
	if (newstate == TCP_CLOSE) {
		closed(sk, s, f, now);
		bpf_map_delete_elem(&sockets, &key);
	}
	return 0;
}

SET_STATE_HANDLERS(metrics_set_state, metrics_set_state_backup, handle_set_state)

/* accept() or accept4() returned `fd` in the accepting process: counted by
 * the listening port, and the socket's owner noted (as in bpf/life.bpf.c). */
static __always_inline void accepted(long fd)
{
	if (fd < 0)
		return;
	struct sock *sk = socket_of(fd);
	if (!sk || !is_tcp(sk))
		return;
	__u64 key = (__u64)sk;
	struct socket_state *s = bpf_map_lookup_elem(&sockets, &key);
	if (s)
		record_owner(s);

	struct metrics_accept_key port = {
		.port = BPF_CORE_READ(sk, __sk_common.skc_num),
		.family = BPF_CORE_READ(sk, __sk_common.skc_family),
	};
	if (port.family != AF_INET && port.family != AF_INET6)
		return;
	/* Scope: the accepting process, and the socket's cgroup (its listener's). */
	if (!task_in_scope() || !socket_in_scope(sk))
		return;
	__u64 zero = 0, *n = bpf_map_lookup_elem(&accepts, &port);
	if (!n) {
		bpf_map_update_elem(&accepts, &port, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&accepts, &port);
	}
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		count_one(&accept_ports_overflow);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int metrics_accept4_exit(struct syscall_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int metrics_accept_exit(struct syscall_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}
