// SPDX-License-Identifier: GPL-2.0
/* tcptools life: one event per TCP session when it closes.
 *
 * Driven by the sock:inet_sock_set_state tracepoint (as tp_btf, which hands
 * over the socket itself and needs neither kprobes nor tracefs), and by the
 * exits of accept() and accept4(), which name a passive socket's process. */
#include "common.bpf.h"
#include "identity.bpf.h"
#include "session.bpf.h"
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

/* Puts the event struct into the object's BTF, where the layout check reads it. */
struct life_event *unused_life_event __attribute__((unused));
enum life_control *unused_life_control __attribute__((unused));

static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate)
{
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
		session_end(sk);
		return 0;
	}

	/* The owner is recorded whatever -p says: -p asks about the owner at
	 * CLOSE. */
	struct session *s = session_at(sk, oldstate, newstate);

	if (newstate != TCP_CLOSE)
		return 0;
	if (!s)
		return 0; /* born before tracing started */

	__u64 now = bpf_ktime_get_ns();
	/* No owner: a passive socket closed before any process accepted it
	 * (reset or timed out in the accept queue, or dropped with its
	 * listener), or one only the kernel used. Shown as PID 0, COMM "-"; -p
	 * never matches it. */
	__u32 pid = s->has_owner ? s->owner.pid : 0;
	/* --cgroupmap and --mntnsmap name tasks: they are asked of the owner. */
	if ((target_pid && pid != target_pid) ||
	    ((filter_cgroupmap || filter_mntnsmap) && !(s->has_owner && s->owner.in_scope))) {
		session_end(sk);
		return 0;
	}

	if (!s->has_owner) { /* shown as PID 0, COMM "-" */
		__builtin_memset(s->owner.comm, 0, sizeof(s->owner.comm));
		s->owner.comm[0] = '-';
	}
	if (hist_value) {
		__u64 value = now - s->birth_ns;
		if (hist_value == HIST_BYTES) {
			__u64 sent, received;
			payload_bytes(sk, s->syn_acked, s->fin_sent, &sent, &received);
			value = sent + received;
		}
		/* --hist-by port: the server's port, whichever end this is. */
		hist_count(value, pid, s->owner.comm, s->active ? rport : lport);
		session_end(sk);
		return 0;
	}

	struct life_event *e = reserve_event(sizeof(*e));
	if (!e) {
		session_end(sk);
		return 0;
	}
	e->ts_us = now / 1000;
	e->span_us = (now - s->birth_ns) / 1000;
	e->rx_bytes = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	e->tx_bytes = BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked);
	e->pid = pid;
	e->cookie = want_cookie ? bpf_get_socket_cookie((void *)sk) : 0;
	e->cgroup_id = s->owner.identity.cgroup_id;
	e->tid = s->owner.identity.tid;
	e->uid = s->owner.identity.uid;
	e->netns = socket_netns(sk);
	e->mntns = s->owner.identity.mntns;
	e->lport = lport;
	e->rport = rport;
	e->family = family;
	e->control = control_sequences(sk, s->syn_acked, s->fin_sent);
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	read_addresses(sk, family, e->laddr, e->raddr);
	__builtin_memcpy(e->comm, s->owner.comm, sizeof(e->comm));
	submit_event(e);
	session_end(sk);
	return 0;
}

SET_STATE_HANDLERS(life_set_state, life_set_state_backup, handle_set_state)

/* The accepting process is a passive socket's first owner. */
SESSION_ACCEPT_EXITS(life, session_owner_noted)
