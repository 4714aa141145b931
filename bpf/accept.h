/* The one definition of the event tcptools accept receives: one TCP
 * connection returned by accept() or accept4(). The build generates its
 * TypeScript type and decoder (gen/accept.ts) from the object's BTF. */
#ifndef TCPTOOLS_ACCEPT_H
#define TCPTOOLS_ACCEPT_H

#define TASK_COMM_LEN 16

struct accept_event {
	__u64 ts_us;       /* bpf_ktime_get_ns() / 1000 when accept() returned */
	__u64 cookie;      /* the socket's cookie; 0 if none was generated (see accept.bpf.c) */
	__u64 cgroup_id;   /* the accepting task's cgroup v2 id */
	__u32 pid;         /* thread-group id of the accepting process */
	__u32 tid;         /* its thread */
	__u32 uid;         /* its real UID */
	__u32 netns;       /* the socket's network namespace inode number */
	__u32 mntns;       /* the accepting task's mount namespace inode number */
	__u32 backlog;     /* the listener's accept queue length after this accept */
	__u32 backlog_max; /* its limit */
	__u16 lport;       /* host order */
	__u16 rport;       /* host order */
	__u16 family;      /* AF_INET or AF_INET6 */
	__u8 pad[6];
	__u8 laddr[16];    /* network order; the first 4 bytes for AF_INET */
	__u8 raddr[16];
	char comm[TASK_COMM_LEN];
};

_Static_assert(sizeof(struct accept_event) == 112, "accept_event layout changed");

#endif
