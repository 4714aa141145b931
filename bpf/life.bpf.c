// SPDX-License-Identifier: GPL-2.0
/* tcptools life: one event per TCP session when it closes.
 *
 * Driven by the sock:inet_sock_set_state tracepoint (as tp_btf, which hands
 * over the socket itself and needs neither kprobes nor tracefs), and by the
 * exits of accept() and accept4(), which name a passive socket's process. */
#include "common.bpf.h"
#include "identity.bpf.h"
#include <bpf/bpf_endian.h>
#include "life.h"
#include "payload_bytes.bpf.h"
#include "histogram.bpf.h"

/* Set by user space before load; the verifier drops the branches they disable. */
const volatile __u32 target_pid = 0;      /* 0: every process */
const volatile __u16 target_family = 0;   /* 0: both, else AF_INET or AF_INET6 */
const volatile __u8 filter_lport = 0;     /* consult lports */
const volatile __u8 filter_rport = 0;     /* consult rports */
/* Ask for each socket's cookie (--json): bpf_get_socket_cookie() on a
 * socket needs Linux 5.12, so the verifier sees the call only when set. */
const volatile __u8 want_cookie = 0;

PORT_FILTER_MAP(lports);
PORT_FILTER_MAP(rports);

/* What is known about a socket between its birth and its close. */
struct session {
	__u64 birth_ns;
	__u32 pid;
	__u16 has_owner;
	__u8 syn_acked; /* went SYN_SENT -> ESTABLISHED */
	__u8 fin_sent;  /* went to FIN_WAIT1 or LAST_ACK, which send our FIN */
	__u8 active;    /* went to SYN_SENT: opened by connect(), the peer is the server */
	char comm[TASK_COMM_LEN];
	struct task_identity owner;
	__u8 owner_in_scope; /* the owner passed --cgroupmap and --mntnsmap */
};

/* LRU, so sessions whose close is never seen cannot fill it up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct session);
} sessions SEC(".maps");

/* Sessions that ended without a traced close (see handle_set_state). */
PERCPU_COUNTER(untraced_closes);

/* Puts the event struct into the object's BTF, where the layout check reads it. */
struct life_event *unused_life_event __attribute__((unused));
enum life_control *unused_life_control __attribute__((unused));

static __always_inline void record_owner(struct session *s)
{
	s->pid = current_pid();
	s->has_owner = 1;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	current_identity(&s->owner);
	s->owner_in_scope = task_in_scope();
}

static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;

	if (!is_tcp(sk))
		return 0;

	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (target_family && family != target_family)
		return 0;

	/* The local port is still 0 at CLOSE->SYN_SENT (connect() picks it
	 * afterwards), so an unknown port is not a mismatch yet. */
	__u16 lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if ((filter_lport && lport && !port_listed(&lports, lport)) ||
	    (filter_rport && rport && !port_listed(&rports, rport)) ||
	    !socket_in_scope(sk)) {
		bpf_map_delete_elem(&sessions, &key);
		return 0;
	}

	struct session *s = bpf_map_lookup_elem(&sessions, &key);

	/* Birth is rewritten at every early state, so a session's life starts
	 * at ESTABLISHED (or at SYN_SENT for a connect that never completes). */
	if (newstate < TCP_FIN_WAIT1) {
		/* A socket's first state change (in connect(), or as a listener's
		 * new child) finding a session at its address: the socket there
		 * before was freed without a CLOSE transition. Under a connection
		 * flood this happens to one server socket in 100,000 to 1,000,000,
		 * last seen in FIN_WAIT1 (measured on 6.18; tcp:tcp_destroy_sock does
		 * not see it either). Its end is counted, not printed: the memory
		 * holding its byte counts now belongs to the new socket. */
		if (s && (oldstate == TCP_CLOSE || oldstate == TCP_LISTEN)) {
			count_one(&untraced_closes);
			*s = (struct session){};
		}
		if (!s) {
			struct session fresh = {};
			bpf_map_update_elem(&sessions, &key, &fresh, BPF_ANY);
			s = bpf_map_lookup_elem(&sessions, &key);
			if (!s)
				return 0;
		}
		s->birth_ns = bpf_ktime_get_ns();
	}

	if (s && oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED)
		s->syn_acked = 1;
	if (s && (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK))
		s->fin_sent = 1;
	if (s && newstate == TCP_SYN_SENT)
		s->active = 1;

	/* The owner is the process that last acted on the socket in a system
	 * call. A state change runs in one exactly when a process holds the
	 * socket's lock: connect() (SYN_SENT), close()/shutdown() (FIN_WAIT1,
	 * LAST_ACK, or CLOSE when close() sends RST), and what softirq queued
	 * for a locked socket, which release_sock() runs at the end of that
	 * call. Otherwise it runs in softirq or a timer, in whatever task was
	 * interrupted. The owner is recorded whatever -p says: -p asks about the
	 * owner at CLOSE. */
	if (s && BPF_CORE_READ(sk, sk_lock.owned))
		record_owner(s);

	if (newstate != TCP_CLOSE)
		return 0;
	if (!s)
		return 0; /* born before tracing started */

	__u64 now = bpf_ktime_get_ns();
	/* No owner: a passive socket closed before any process accepted it
	 * (reset or timed out in the accept queue, or dropped with its
	 * listener), or one only the kernel used. Shown as PID 0, COMM "-"; -p
	 * never matches it. */
	__u32 pid = s->has_owner ? s->pid : 0;
	/* --cgroupmap and --mntnsmap name tasks: they are asked of the owner. */
	if ((target_pid && pid != target_pid) ||
	    ((filter_cgroupmap || filter_mntnsmap) && !(s->has_owner && s->owner_in_scope))) {
		bpf_map_delete_elem(&sessions, &key);
		return 0;
	}

	if (!s->has_owner) { /* shown as PID 0, COMM "-" */
		__builtin_memset(s->comm, 0, sizeof(s->comm));
		s->comm[0] = '-';
	}
	if (hist_value) {
		__u64 value = now - s->birth_ns;
		if (hist_value == HIST_BYTES) {
			__u64 sent, received;
			payload_bytes(sk, s->syn_acked, s->fin_sent, &sent, &received);
			value = sent + received;
		}
		/* --hist-by port: the server's port, whichever end this is. */
		hist_count(value, pid, s->comm, s->active ? rport : lport);
		bpf_map_delete_elem(&sessions, &key);
		return 0;
	}

	struct life_event *e = reserve_event(sizeof(*e));
	if (!e) {
		bpf_map_delete_elem(&sessions, &key);
		return 0;
	}
	e->ts_us = now / 1000;
	e->span_us = (now - s->birth_ns) / 1000;
	e->rx_bytes = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	e->tx_bytes = BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked);
	e->pid = pid;
	e->cookie = want_cookie ? bpf_get_socket_cookie((void *)sk) : 0;
	e->cgroup_id = s->owner.cgroup_id;
	e->tid = s->owner.tid;
	e->uid = s->owner.uid;
	e->netns = socket_netns(sk);
	e->mntns = s->owner.mntns;
	e->lport = lport;
	e->rport = rport;
	e->family = family;
	e->control = control_sequences(sk, s->syn_acked, s->fin_sent);
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	read_addresses(sk, family, e->laddr, e->raddr);
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	submit_event(e);
	bpf_map_delete_elem(&sessions, &key);
	return 0;
}

SET_STATE_HANDLERS(life_set_state, life_set_state_backup, handle_set_state)

/* A passive socket's state changes all run in softirq: its first owner is
 * the process whose accept() or accept4() returned it. The system call's own
 * tracepoints (tracefs events, attached through perf) run this for those two
 * calls only; the raw sys_exit tracepoint would run a program at the exit of
 * every system call on the machine. */
static __always_inline void accepted(long fd)
{
	if (fd < 0)
		return;
	__u64 key = (__u64)socket_of(fd);
	struct session *s = key ? bpf_map_lookup_elem(&sessions, &key) : 0;
	/* No session: not TCP, filtered out, born before tracing started, or
	 * already closed (a reset in the accept queue is still returned). */
	if (s)
		record_owner(s);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int life_accept4_exit(struct syscall_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int life_accept_exit(struct syscall_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}
