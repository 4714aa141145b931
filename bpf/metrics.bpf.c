// SPDX-License-Identifier: GPL-2.0
/* tcptools metrics: counters and histograms of TCP connects, accepts and
 * sessions, kept in the kernel. No event is sent per connection: user space
 * reads the maps when scraped.
 *
 * The same hooks as tcptools connect, life and accept: the
 * sock:inet_sock_set_state tracepoint (as tp_btf) sees connect() start
 * (CLOSE -> SYN_SENT, in the caller), its answer (SYN_SENT -> next state) and
 * every session's birth and close; the exits of accept() and accept4() see
 * each accepted socket in the accepting process.
 *
 * Totals are per-CPU array slots (metrics.h). Label sets (accepts by port,
 * and with --label, connects and sessions by process, ports or cgroup) are
 * a hash map of a fixed size; what does not fit is counted in overflow
 * slots of the same layout, so every total stays exact. */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "connect_outcome.bpf.h"
#include "session.bpf.h"
#include "payload_bytes.bpf.h"
#include "metrics.h"

/* --label: which labels connects and sessions get (set before load). */
const volatile __u8 label_comm = 0;
const volatile __u8 label_lport = 0;
const volatile __u8 label_rport = 0;
const volatile __u8 label_cgroup = 0;

/* The counters, by enum metrics_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, METRICS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} metric_values SEC(".maps");

/* What the label sets could not count, by enum metrics_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, METRICS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} overflow_values SEC(".maps");

/* The label sets; user space sizes it before load (--label-limit). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct metrics_key);
	__type(value, struct metrics_counts);
} label_sets SEC(".maps");

/* Connects, accepts and sessions counted in overflow_values. */
PERCPU_COUNTER(label_overflow);

/* Put the shared types into the object's BTF, where the build reads them. */
struct metrics_key *unused_metrics_key __attribute__((unused));
struct metrics_counts *unused_metrics_counts __attribute__((unused));
enum metrics_kind *unused_metrics_kind __attribute__((unused));
enum metrics_slot *unused_metrics_slot __attribute__((unused));
enum metrics_bound_us *unused_metrics_bound_us __attribute__((unused));

/* Atomic although per CPU: a softirq can interrupt the handler between
 * reading and writing the slot (see count_one). */
static __always_inline void add_to(void *slots, __u32 slot, __u64 n)
{
	__u64 *value = bpf_map_lookup_elem(slots, &slot);
	if (value)
		__sync_fetch_and_add(value, n);
}

static __always_inline void add(__u32 slot, __u64 n)
{
	add_to(&metric_values, slot, n);
}

static __always_inline int labeled(void)
{
	return label_comm || label_lport || label_rport || label_cgroup;
}

/* The label set's key for a socket: the labels --label asked for. */
static __always_inline void label_key(struct metrics_key *key, const struct sock *sk, __u8 kind,
				      __u16 family, const char *comm)
{
	key->kind = kind;
	key->family = family;
	if (label_comm && comm)
		__builtin_memcpy(key->comm, comm, sizeof(key->comm));
	/* inet_sport, not skc_num: the kernel zeroes skc_num when a closing
	 * socket leaves the port hash, and keeps inet_sport. */
	if (label_lport)
		key->lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (label_rport)
		key->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (label_cgroup) {
		const struct cgroup *cgroup = socket_cgroup(sk);
		key->cgroup = cgroup ? BPF_CORE_READ(cgroup, kn, id) : 0;
	}
}

/* Counts into the key's label set; false if the map is full (then the caller
 * counts in overflow_values). */
static __always_inline int count_label_set(const struct metrics_key *key, __u64 sent,
					   __u64 received)
{
	struct metrics_counts zero = {}, *c = bpf_map_lookup_elem(&label_sets, key);
	if (!c) {
		bpf_map_update_elem(&label_sets, key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&label_sets, key);
	}
	if (!c) {
		count_one(&label_overflow);
		return 0;
	}
	__sync_fetch_and_add(&c->count, 1);
	if (sent)
		__sync_fetch_and_add(&c->sent_bytes, sent);
	if (received)
		__sync_fetch_and_add(&c->received_bytes, received);
	return 1;
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

/* SYN_SENT -> ESTABLISHED or CLOSE: the answer to connect(), counted as
 * tcptools connect --json reports it. */
static __always_inline void answered(const struct sock *sk, struct session *s, int newstate,
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
	__u8 outcome = outcome_of(newstate, error);
	__u32 slot = METRICS_CONNECTS + outcome * METRICS_FAMILIES + family;
	add(slot, 1);
	observe(METRICS_CONNECT_LATENCY, latency);
	if (labeled()) {
		struct metrics_key key = { .outcome = outcome };
		label_key(&key, sk, METRICS_KIND_CONNECT, BPF_CORE_READ(sk, __sk_common.skc_family),
			  s->caller);
		if (!count_label_set(&key, 0, 0))
			add_to(&overflow_values, slot, 1);
	}
}

/* CLOSE: the session's end, counted as tcptools life prints it. */
static __always_inline void closed(const struct sock *sk, struct session *s, __u32 family,
				   __u64 now)
{
	/* --cgroupmap and --mntnsmap name tasks: they are asked of the owner. */
	if ((filter_cgroupmap || filter_mntnsmap) && !(s->has_owner && s->owner.in_scope))
		return;
	__u64 tx, rx;

	payload_bytes(sk, s->syn_acked, s->fin_sent, &tx, &rx);
	add(METRICS_SESSIONS_CLOSED + family, 1);
	add(METRICS_SENT_BYTES + family, tx);
	add(METRICS_RECEIVED_BYTES + family, rx);
	observe(METRICS_SESSION_DURATION, now - s->birth_ns);
	if (labeled()) {
		struct metrics_key key = {};
		if (!s->has_owner) { /* no process: "-", as tcptools life prints it */
			__builtin_memset(s->owner.comm, 0, sizeof(s->owner.comm));
			s->owner.comm[0] = '-';
		}
		label_key(&key, sk, METRICS_KIND_SESSION, BPF_CORE_READ(sk, __sk_common.skc_family),
			  s->owner.comm);
		if (!count_label_set(&key, tx, rx)) {
			add_to(&overflow_values, METRICS_SESSIONS_CLOSED + family, 1);
			add_to(&overflow_values, METRICS_SENT_BYTES + family, tx);
			add_to(&overflow_values, METRICS_RECEIVED_BYTES + family, rx);
		}
	}
}

static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate)
{
	if (!is_tcp(sk))
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (!socket_in_scope(sk)) {
		session_end(sk);
		return 0;
	}
	/* CLOSE -> SYN_SENT runs inside connect(): the caller is current. */
	int connecting = oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT;
	if (connecting && !task_in_scope()) {
		session_end(sk);
		return 0;
	}

	struct session *s = session_at(sk, oldstate, newstate);
	if (!s)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (connecting) {
		s->connect_ns = s->birth_ns;
		if (label_comm)
			bpf_get_current_comm(s->caller, sizeof(s->caller));
	}

	__u32 f = family_index(family);
	if (oldstate == TCP_SYN_SENT)
		answered(sk, s, newstate, f, now);
	if (newstate == TCP_CLOSE) {
		closed(sk, s, f, now);
		session_end(sk);
	}
	return 0;
}

SET_STATE_HANDLERS(metrics_set_state, metrics_set_state_backup, handle_set_state)

/* accept() or accept4() returned `sk` (NULL: not a TCP socket) in the
 * accepting process, whose owner session.bpf.h noted: counted by the
 * listening port. */
static __always_inline void accepted(struct sock *sk)
{
	if (!sk)
		return;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return;
	/* Scope: the accepting process, and the socket's cgroup (its listener's). */
	if (!task_in_scope() || !socket_in_scope(sk))
		return;
	__u32 slot = METRICS_ACCEPTS + family_index(family);
	char comm[TASK_COMM_LEN] = {};
	struct metrics_key key = {};

	add(slot, 1);
	if (label_comm)
		bpf_get_current_comm(comm, sizeof(comm));
	label_key(&key, sk, METRICS_KIND_ACCEPT, family, comm);
	/* The listening port: the accepted socket's local port. */
	key.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!count_label_set(&key, 0, 0))
		add_to(&overflow_values, slot, 1);
}

SESSION_ACCEPT_EXITS(metrics, accepted)
