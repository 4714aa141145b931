/* Who an event belongs to beyond PID and COMM, for --json: the task's thread,
 * user, cgroup and mount namespace, read where that task is the socket's
 * owner (inside its system call), and the socket's network namespace and
 * cookie, the number by which the events of one socket can be joined across
 * tools. */
#ifndef TCPTOOLS_IDENTITY_BPF_H
#define TCPTOOLS_IDENTITY_BPF_H

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* The current task, taken where it is the one acting on the socket. */
struct task_identity {
	__u64 cgroup_id; /* its cgroup v2 cgroup: the inode number of that directory */
	__u32 tid;       /* the thread (lower half of pid_tgid) */
	__u32 uid;       /* real UID */
	__u32 mntns;     /* mount namespace inode number; 0 if the task is exiting */
	__u32 pad;
};

static __always_inline void current_identity(struct task_identity *id)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	id->cgroup_id = bpf_get_current_cgroup_id();
	id->tid = (__u32)bpf_get_current_pid_tgid();
	id->uid = (__u32)bpf_get_current_uid_gid();
	id->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	id->pad = 0;
}

/* The inode number of the socket's network namespace. */
static __always_inline __u32 socket_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* The cookie as stored: 0 if nothing asked for it yet. For programs that
 * cannot call bpf_get_socket_cookie() on a socket (tracefs tracepoints; the
 * helper takes a socket pointer only in BTF-typed programs, Linux 5.12+). */
static __always_inline __u64 stored_cookie(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

#endif
