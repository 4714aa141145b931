/* A TCP socket's session, from its birth to its close, as tcptools life and
 * metrics both track it: when it was born, who owns it, and what its state
 * changes say about its bytes.
 *
 * The state lives in the socket itself (socket-local storage), freed with
 * it, so no other socket can evict it: an LRU hash of sockets let any local
 * user who held enough sockets alive push other users' sessions out unseen.
 * The helpers need a tracing program (tp_btf) and Linux 5.11, where "bpf:
 * Allow using bpf_sk_storage in FENTRY/FEXIT/RAW_TP" (Martin KaFai Lau,
 * November 2020) let tracing programs call them, in softirq or task context
 * only, which is where inet_sock_set_state runs. Older kernels reject the
 * programs at load.
 *
 * What can still be missed is counted: a storage the kernel could not
 * allocate, a close of a socket born before tracing, an accepted socket whose
 * owner found no room.
 *
 * A tool tracks sessions by including this header, calling session_at() from
 * its inet_sock_set_state handler and session_end() once a session is over
 * (closed, or filtered out), and placing SESSION_ACCEPT_EXITS(tool, then)
 * once, for the owners of passive sockets. */
#ifndef TCPTOOLS_SESSION_BPF_H
#define TCPTOOLS_SESSION_BPF_H

#include "common.bpf.h"
#include "identity.bpf.h"

/* Not in the hand-kept headers of older toolchains' linux/bpf.h. */
#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif

#ifndef BPF_SK_STORAGE_GET_F_CREATE
#define BPF_SK_STORAGE_GET_F_CREATE 1
#endif

/* The process that last acted on a socket in a system call. */
struct session_owner {
	struct task_identity identity;
	__u32 pid;
	__u8 in_scope; /* it passed --cgroupmap and --mntnsmap */
	__u8 pad[3];
	char comm[TASK_COMM_LEN];
};

/* What is known about a socket between its birth and its close. */
struct session {
	__u64 birth_ns;   /* the last early-state transition */
	__u64 connect_ns; /* CLOSE -> SYN_SENT in connect(); 0 once answered (metrics) */
	struct session_owner owner;
	char caller[TASK_COMM_LEN]; /* the caller of connect() (metrics --label comm) */
	__u8 has_owner;
	__u8 syn_acked; /* went SYN_SENT -> ESTABLISHED */
	__u8 fin_sent;  /* went to FIN_WAIT1 or LAST_ACK, which send our FIN */
	__u8 active;    /* went to SYN_SENT: opened by connect(), the peer is the server */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct session);
} sessions SEC(".maps");

/* The owner an accept() found, until the socket's next state change takes it
 * into the session: the accept exits are tracefs tracepoints, which may not
 * touch socket-local storage. Not LRU: a full map is counted, never evicts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct session_owner);
} accepted_owners SEC(".maps");

/* Sessions that ended without a traced close (see session_at). */
PERCPU_COUNTER(untraced_closes);
/* Sessions the kernel could not allocate a storage for: not tracked. */
PERCPU_COUNTER(untracked_sessions);
/* Closes of sockets born before tracing started: not reported. */
PERCPU_COUNTER(closes_before_tracing);
/* Accepted sockets whose owner found accepted_owners full. */
PERCPU_COUNTER(unowned_accepts);

static __always_inline void current_owner(struct session_owner *o)
{
	o->pid = current_pid();
	o->in_scope = task_in_scope();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	current_identity(&o->identity);
}

/* The socket's session after a state change, or NULL if it has none: born
 * before tracing, or no storage. Keeps birth, flags and owner up to date. */
static __always_inline struct session *session_at(const struct sock *sk, int oldstate,
						  int newstate)
{
	__u64 address = (__u64)sk;
	struct session *s = bpf_sk_storage_get(&sessions, (struct sock *)sk, 0, 0);

	/* Birth is rewritten at every early state, so a session's life starts
	 * at ESTABLISHED (or at SYN_SENT for a connect that never completes). */
	if (newstate < TCP_FIN_WAIT1) {
		/* A socket's first state change (in connect(), or as a listener's
		 * new child) finding a session: the socket went back to CLOSE
		 * without a traced CLOSE transition. Its end is counted, not
		 * printed. */
		if (oldstate == TCP_CLOSE || oldstate == TCP_LISTEN) {
			if (s) {
				count_one(&untraced_closes);
				*s = (struct session){};
			}
			/* An owner noted for a freed socket at this address. */
			bpf_map_delete_elem(&accepted_owners, &address);
		}
		if (!s) {
			s = bpf_sk_storage_get(&sessions, (struct sock *)sk, 0,
					       BPF_SK_STORAGE_GET_F_CREATE);
			if (!s) {
				count_one(&untracked_sessions);
				return 0;
			}
		}
		s->birth_ns = bpf_ktime_get_ns();
	}
	if (!s) {
		/* A listener's end is no session's. */
		if (newstate == TCP_CLOSE && oldstate != TCP_LISTEN) {
			count_one(&closes_before_tracing);
			bpf_map_delete_elem(&accepted_owners, &address);
		}
		return 0;
	}

	if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED)
		s->syn_acked = 1;
	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK)
		s->fin_sent = 1;
	if (newstate == TCP_SYN_SENT)
		s->active = 1;

	struct session_owner *accepted = bpf_map_lookup_elem(&accepted_owners, &address);
	if (accepted) {
		s->owner = *accepted;
		s->has_owner = 1;
		bpf_map_delete_elem(&accepted_owners, &address);
	}
	/* The owner is the process that last acted on the socket in a system
	 * call. A state change runs in one exactly when a process holds the
	 * socket's lock: connect() (SYN_SENT), close()/shutdown() (FIN_WAIT1,
	 * LAST_ACK, or CLOSE when close() sends RST), and what softirq queued
	 * for a locked socket, which release_sock() runs at the end of that
	 * call. Otherwise it runs in softirq or a timer, in whatever task was
	 * interrupted. */
	if (BPF_CORE_READ(sk, sk_lock.owned)) {
		current_owner(&s->owner);
		s->has_owner = 1;
	}
	return s;
}

/* The session is over (closed, or filtered out): its state goes. */
static __always_inline void session_end(const struct sock *sk)
{
	__u64 address = (__u64)sk;

	bpf_sk_storage_delete(&sessions, (struct sock *)sk);
	bpf_map_delete_elem(&accepted_owners, &address);
}

/* accept() or accept4() returned `fd` in the current process: a passive
 * socket's state changes all run in softirq, so this is its first owner.
 * The system call's own tracepoints run this for those two calls only; the
 * raw sys_exit tracepoint would run a program at the exit of every system
 * call on the machine. Returns the socket, or NULL. */
static __always_inline struct sock *session_accepted(long fd)
{
	struct session_owner owner = {};
	struct sock *sk;
	__u64 address;

	if (fd < 0)
		return 0;
	sk = socket_of(fd);
	if (!sk || !is_tcp(sk))
		return 0;
	address = (__u64)sk;
	current_owner(&owner);
	if (bpf_map_update_elem(&accepted_owners, &address, &owner, BPF_ANY))
		count_one(&unowned_accepts);
	return sk;
}

/* For SESSION_ACCEPT_EXITS: a tool that wants nothing of an accepted socket
 * but its owner noted. */
static __always_inline void session_owner_noted(struct sock *sk)
{
}

#define SESSION_ACCEPT_EXIT(program, syscall, then)         \
	SEC("tracepoint/syscalls/sys_exit_" #syscall)       \
	int program(struct syscall_exit *ctx)               \
	{                                                   \
		then(session_accepted(ctx->ret));           \
		return 0;                                   \
	}

/* The programs at the exits of accept4() and accept() that every tool
 * tracking sessions needs (<tool>_accept4_exit, <tool>_accept_exit): each
 * notes a passive socket's first owner (session_accepted), then hands the
 * socket, or NULL, to `then(struct sock *)`. */
#define SESSION_ACCEPT_EXITS(tool, then)                         \
	SESSION_ACCEPT_EXIT(tool##_accept4_exit, accept4, then)  \
	SESSION_ACCEPT_EXIT(tool##_accept_exit, accept, then)

#endif
