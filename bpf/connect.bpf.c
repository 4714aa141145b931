// SPDX-License-Identifier: GPL-2.0
/* tcptools connect and connlat: active TCP opens, from the
 * sock:inet_sock_set_state tracepoint (as tp_btf) and, for the moment the
 * SYN leaves, a cgroup sock_ops program.
 *
 * CLOSE -> SYN_SENT runs inside connect() (tcp_v4_connect/tcp_v6_connect) in
 * the caller's context, after the route lookup chose the source address and
 * before the ephemeral port is picked: PID, UID, COMM and addresses are exact
 * there, the local port is not yet known, and the connect can still fail
 * without sending anything (no free local port: SYN_SENT -> CLOSE inside the
 * same connect()). tcp_connect() then runs the sock_ops program with
 * BPF_SOCK_OPS_TCP_CONNECT_CB, still in connect(), once the port is chosen and
 * right before the SYN is sent: a connect is reported from there (as bcc does
 * when tcp_v4_connect returned 0). The next transition, SYN_SENT ->
 * ESTABLISHED (SYN-ACK) or SYN_SENT -> CLOSE (RST, timeout, ICMP error, or the
 * application gave up), is the answer; it runs in softirq, so the caller's
 * identity is kept from the start. Attempts are keyed by socket cookie, which
 * both program types can read. */
#include "common.bpf.h"
#include "identity.bpf.h"
#include <bpf/bpf_endian.h>
#include "connect.h"
#include "connect_outcome.bpf.h"
#include "histogram.bpf.h"

/* Set by user space before load; the verifier drops the branches they disable. */
const volatile __u32 target_pid = 0;     /* 0: every process */
const volatile __u32 target_uid = 0;
const volatile __u8 filter_uid = 0;      /* compare with target_uid (0 is a UID) */
const volatile __u16 target_family = 0;  /* 0: both, else AF_INET or AF_INET6 */
const volatile __u8 filter_dport = 0;    /* consult dports */
const volatile __u8 report_at_start = 0; /* emit PENDING events as the SYN leaves */
const volatile __u8 report_at_end = 0;   /* emit an event at the answer */
const volatile __u8 count_only = 0;      /* only count per destination as the SYN leaves (-c) */
const volatile __u8 answered_only = 0;   /* at the answer: only SYN-ACK or RST (connlat) */
const volatile __u64 min_latency_us = 0; /* at the answer: drop faster ones (connlat) */
const volatile __u8 failed_only = 0;     /* at the answer: drop established ones (--failed) */

PORT_FILTER_MAP(dports);

/* An attempt between connect() and its answer. */
struct attempt {
	__u64 start_ns;
	__u32 pid;
	__u32 uid;
	char comm[TASK_COMM_LEN];
	struct task_identity caller;
};

/* LRU, so attempts whose answer is never seen cannot fill it up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct attempt);
} attempts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct connect_count_key);
	__type(value, __u64);
} counts SEC(".maps");

/* Put the shared structs into the object's BTF, where the layout check reads them. */
struct connect_event *unused_connect_event __attribute__((unused));
struct connect_count_key *unused_connect_count_key __attribute__((unused));
enum connect_outcome *unused_connect_outcome __attribute__((unused));

static __always_inline void count(const struct sock *sk, __u16 family, __u16 dport)
{
	struct connect_count_key key = {};

	read_addresses(sk, family, key.saddr, key.daddr);
	key.dport = dport;
	key.family = family;
	if (!count_in(&counts, &key))
		count_one(&lost_events); /* the table is full: reported like a lost event */
}

static __always_inline void fill(struct connect_event *e, const struct sock *sk, __u16 family,
				 __u16 dport, const struct attempt *a, __u64 cookie)
{
	e->cookie = cookie;
	e->cgroup_id = a->caller.cgroup_id;
	e->tid = a->caller.tid;
	e->netns = socket_netns(sk);
	e->mntns = a->caller.mntns;
	e->lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->dport = dport;
	e->family = family;
	e->pad = 0;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	read_addresses(sk, family, e->saddr, e->daddr);
}

static __always_inline int on_connect(const struct sock *sk, __u16 dport)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	if (target_pid && pid != target_pid)
		return 0;
	if (filter_uid && uid != target_uid)
		return 0;
	if (filter_dport && !port_listed(&dports, dport))
		return 0;
	/* Scope: the caller of connect() and the new socket's cgroup. */
	if (!task_in_scope() || !socket_in_scope(sk))
		return 0;

	struct attempt a = { .start_ns = bpf_ktime_get_ns(), .pid = pid, .uid = uid };
	__u64 key = bpf_get_socket_cookie((void *)sk);
	bpf_get_current_comm(a.comm, sizeof(a.comm));
	current_identity(&a.caller);
	bpf_map_update_elem(&attempts, &key, &a, BPF_ANY);
	return 0;
}

/* In tcp_connect(), in connect(): the port is chosen and the SYN about to leave. */
static __always_inline void on_syn(const struct sock *sk, __u64 key)
{
	struct attempt *a = bpf_map_lookup_elem(&attempts, &key);
	if (!a)
		return;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));

	if (count_only) {
		count(sk, family, dport);
	} else if (report_at_start) {
		struct connect_event *e = reserve_event(sizeof(*e));
		if (e) {
			e->start_us = a->start_ns / 1000;
			e->latency_us = (bpf_ktime_get_ns() - a->start_ns) / 1000;
			e->pid = a->pid;
			e->uid = a->uid;
			e->outcome = CONNECT_PENDING;
			e->error = 0;
			__builtin_memcpy(e->comm, a->comm, sizeof(e->comm));
			fill(e, sk, family, dport, a, key);
			submit_event(e);
		}
	}
	if (!report_at_end)
		bpf_map_delete_elem(&attempts, &key);
}

static __always_inline int on_answer(const struct sock *sk, int newstate, __u16 family,
				     __u16 dport)
{
	__u64 key = bpf_get_socket_cookie((void *)sk);
	struct attempt *a = bpf_map_lookup_elem(&attempts, &key);
	if (!a)
		return 0;

	__u64 now = bpf_ktime_get_ns();
	__u64 latency_us = (now - a->start_ns) / 1000;
	int error = newstate == TCP_CLOSE ? BPF_CORE_READ(sk, sk_err) : 0;
	__u8 outcome = outcome_of(newstate, error);
	/* No local port: connect() failed before sending a SYN (e.g. no free
	 * port), which bcc does not report either. */
	__be16 sport = BPF_CORE_READ((struct inet_sock *)sk, inet_sport);

	if (!sport || latency_us < min_latency_us ||
	    (answered_only && outcome != CONNECT_ESTABLISHED && outcome != CONNECT_REFUSED) ||
	    (failed_only && outcome == CONNECT_ESTABLISHED)) {
		bpf_map_delete_elem(&attempts, &key);
		return 0;
	}
	if (hist_value) { /* connlat --hist: the latency, counted */
		hist_count(now - a->start_ns, a->pid, a->comm, dport);
		bpf_map_delete_elem(&attempts, &key);
		return 0;
	}
	if (count_only) { /* -c --failed: counted at the answer */
		count(sk, family, dport);
		bpf_map_delete_elem(&attempts, &key);
		return 0;
	}
	struct connect_event *e = reserve_event(sizeof(*e));
	if (e) {
		e->start_us = a->start_ns / 1000;
		e->latency_us = latency_us;
		e->pid = a->pid;
		e->uid = a->uid;
		e->outcome = outcome;
		e->error = error;
		__builtin_memcpy(e->comm, a->comm, sizeof(e->comm));
		fill(e, sk, family, dport, a, key);
		submit_event(e);
	}
	bpf_map_delete_elem(&attempts, &key);
	return 0;
}

/* An AF_INET6 socket talking to an IPv4-mapped address (::ffff:a.b.c.d).
 * bcc sees its connect in tcp_v4_connect and reports it as IPv4, so -4
 * keeps it (user space prints it as IPv4 unless -6 was asked for). */
static __always_inline int v4_mapped_peer(const struct sock *sk)
{
	struct in6_addr daddr;

	BPF_CORE_READ_INTO(&daddr, sk, __sk_common.skc_v6_daddr);
	for (int i = 0; i < 10; i++)
		if (daddr.s6_addr[i])
			return 0;
	return daddr.s6_addr[10] == 0xff && daddr.s6_addr[11] == 0xff;
}

static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate)
{
	if (oldstate != TCP_CLOSE && oldstate != TCP_SYN_SENT)
		return 0;
	if (!is_tcp(sk))
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (target_family && family != target_family &&
	    !(target_family == AF_INET && family == AF_INET6 && v4_mapped_peer(sk)))
		return 0;
	__u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));

	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT)
		return on_connect(sk, dport);
	if (oldstate != TCP_SYN_SENT)
		return 0;
	if (report_at_end)
		return on_answer(sk, newstate, family, dport);
	/* Reported or counted as the SYN left, or failed before that. */
	__u64 key = bpf_get_socket_cookie((void *)sk);
	bpf_map_delete_elem(&attempts, &key);
	return 0;
}

SET_STATE_HANDLERS(connect_set_state, connect_set_state_backup, handle_set_state)

/* Attached to the cgroup v2 root: runs for the sockets of every process. */
SEC("sockops")
int connect_syn(struct bpf_sock_ops *ops)
{
	if (ops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	struct bpf_sock *s = ops->sk;
	if (!s)
		return 1;
	const struct sock *sk = (const struct sock *)bpf_skc_to_tcp_sock(s);
	if (sk)
		on_syn(sk, bpf_get_socket_cookie(ops));
	return 1;
}

#include "dns_answers.bpf.h"
