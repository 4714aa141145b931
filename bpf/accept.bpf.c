// SPDX-License-Identifier: GPL-2.0
/* tcptools accept: every TCP connection a process accepts.
 *
 * The passive open's state changes (SYN_RECV -> ESTABLISHED) run in softirq,
 * where the current task is not the server, so they cannot name it. The exit
 * of accept()/accept4() runs in the accepting process: the returned file
 * descriptor leads, through the task's file table, to the new socket, and the
 * first argument, still in the registers saved at entry, to the listener
 * (for --backlog). Before Linux 5.15 (no bpf_task_pt_regs), the calls'
 * entries note the listener per thread instead.
 * Attached to the two system calls' own tracepoints (tracefs events, through
 * perf): the program runs at the exit of those calls only, where the raw
 * sys_exit tracepoint would run it at the exit of every system call. */
#include "common.bpf.h"
#include "identity.bpf.h"
#include <bpf/bpf_endian.h>
#include "accept.h"

/* Set by user space before load; the verifier drops the branches they disable. */
const volatile __u32 target_pid = 0;    /* 0: every process */
const volatile __u16 target_family = 0; /* 0: both, else AF_INET or AF_INET6 */
const volatile __u8 filter_lport = 0;   /* consult lports */
const volatile __u8 want_backlog = 0;   /* find the listener */
const volatile __u8 listener_from_entry = 0; /* no bpf_task_pt_regs: the entry programs note it */

PORT_FILTER_MAP(lports);

/* Per thread in accept(): the listener's descriptor, from the call's entry to
 * its exit. LRU, so threads that die inside accept() cannot fill it up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, long);
} listener_fds SEC(".maps");

/* Puts the event struct into the object's BTF, where the layout check reads it. */
struct accept_event *unused_accept_event __attribute__((unused));

/* The listener this thread's accept() was called on. */
static __always_inline struct sock *listener_of_this_call(void)
{
	if (listener_from_entry) {
		__u64 thread = bpf_get_current_pid_tgid();
		long *fd = bpf_map_lookup_elem(&listener_fds, &thread);
		struct sock *listener = fd ? socket_of(*fd) : 0;

		if (fd)
			bpf_map_delete_elem(&listener_fds, &thread);
		return listener;
	}
	/* x86-64 leaves the first argument's register as the caller passed it. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return socket_of(BPF_CORE_READ(regs, di));
}

static __always_inline int accepted(long ret)
{
	struct sock *listener = want_backlog ? listener_of_this_call() : 0;

	if (ret < 0)
		return 0;

	__u32 pid = current_pid();
	if (target_pid && pid != target_pid)
		return 0;

	struct sock *sk = socket_of(ret);
	if (!sk || !is_tcp(sk))
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (target_family && family != target_family)
		return 0;
	__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (filter_lport && !port_listed(&lports, lport))
		return 0;
	/* Scope: the accepting process, and the socket's cgroup (its listener's). */
	if (!task_in_scope() || !socket_in_scope(sk))
		return 0;

	struct accept_event *e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	struct task_identity id;
	current_identity(&id);
	e->ts_us = bpf_ktime_get_ns() / 1000;
	e->cookie = stored_cookie(sk);
	e->cgroup_id = id.cgroup_id;
	e->pid = pid;
	e->tid = id.tid;
	e->uid = id.uid;
	e->netns = socket_netns(sk);
	e->mntns = id.mntns;
	e->backlog = listener ? BPF_CORE_READ(listener, sk_ack_backlog) : 0;
	e->backlog_max = listener ? BPF_CORE_READ(listener, sk_max_ack_backlog) : 0;
	e->lport = lport;
	e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->family = family;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	read_addresses(sk, family, e->laddr, e->raddr);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	submit_event(e);
	return 0;
}

static __always_inline int accepting(long fd)
{
	__u64 thread = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&listener_fds, &thread, &fd, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int accept4_enter(struct syscall_enter *ctx)
{
	return accepting(ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_accept")
int accept_enter(struct syscall_enter *ctx)
{
	return accepting(ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int accept4_exit(struct syscall_exit *ctx)
{
	return accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int accept_exit(struct syscall_exit *ctx)
{
	return accepted(ctx->ret);
}

/* Loaded for --json only. A system call tracepoint program cannot ask for a
 * socket's cookie, only read it once generated: this generates it for each
 * new passive socket as its listener creates it (the clone's first state,
 * SYN_RECV; sk_clone_lock() clears the listener's copied cookie just before),
 * the same number any other tool gets for that socket later. A BTF-typed
 * program, so it needs Linux 5.12 (bpf_get_socket_cookie on a socket). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(accept_cookie, const struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_RECV && is_tcp(sk))
		bpf_get_socket_cookie((void *)sk);
	return 0;
}
