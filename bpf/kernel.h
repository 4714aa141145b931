/* The few kernel types tcptools reads, declared by hand instead of a vmlinux.h
 * dumped from the build machine. Every struct carries preserve_access_index, so
 * libbpf relocates each field against the running kernel's BTF at load time
 * (CO-RE): only the field names and types here matter, never their offsets. */
#ifndef TCPTOOLS_KERNEL_H
#define TCPTOOLS_KERNEL_H

#include <linux/types.h>
#include <linux/bpf.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* include/net/tcp_states.h */
enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT = 2,
	TCP_SYN_RECV = 3,
	TCP_FIN_WAIT1 = 4,
	TCP_FIN_WAIT2 = 5,
	TCP_TIME_WAIT = 6,
	TCP_CLOSE = 7,
	TCP_CLOSE_WAIT = 8,
	TCP_LAST_ACK = 9,
	TCP_LISTEN = 10,
	TCP_CLOSING = 11,
	TCP_NEW_SYN_RECV = 12,
};

/* A fixed 16-byte ABI type, copied whole: no field relocation wanted (the
 * kernel names its bytes in6_u.u6_addr8; s6_addr is a macro there). */
struct in6_addr {
	__u8 s6_addr[16];
};

/* A namespace's identity: inum is the inode number that stat() of
 * /proc/PID/ns/<type> reports. */
struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} __attribute__((preserve_access_index)) possible_net_t;

/* The socket cookie is generated on first request (sock_gen_cookie) and
 * kept here; 0 until then. */
typedef struct {
	__s64 counter;
} __attribute__((preserve_access_index)) atomic64_t;

/* Fields sit inside anonymous unions in the kernel; CO-RE matching looks
 * through anonymous members, so they are declared flat here. */
struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
	unsigned long skc_flags; /* sk_flags in the kernel sources */
	possible_net_t skc_net;
	atomic64_t skc_cookie;
} __attribute__((preserve_access_index));

/* sk_protocol became a plain u16 in Linux 5.6 (commit bf9765145b85, "sock:
 * make sk_protocol a 16-bit value"); ring buffers need 5.8, so every kernel
 * that can run these programs has the u16. */
/* The socket lock; owned is set while a process holds it (lock_sock()), and
 * cleared by release_sock() after it ran what softirq queued meanwhile. */
typedef struct {
	int owned;
} __attribute__((preserve_access_index)) socket_lock_t;

/* A cgroup v2 directory: its kernfs node's id is the directory's inode
 * number, and the id bpf_get_current_cgroup_id() returns. */
struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

/* ancestors[level] is the cgroup itself, [0] the root (Linux 6.1+, commit
 * 7f203bc89eb6 "cgroup: Replace cgroup->ancestor_ids[] with ->ancestors[]"). */
struct cgroup {
	struct kernfs_node *kn;
	int level;
	struct cgroup *ancestors[];
} __attribute__((preserve_access_index));

/* Before Linux 6.1: the ancestors' ids. */
struct cgroup___ancestor_ids {
	__u64 ancestor_ids[0];
} __attribute__((preserve_access_index));

/* The cgroup v2 a socket was created in (Linux 5.15+, commit 8520e224f547
 * "bpf, cgroups: Fix cgroup v2 fallback on v1/v2 mixed mode"). */
struct sock_cgroup_data {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));

/* Before Linux 5.15: the cgroup pointer, unless bit 0 says the word holds
 * net_cls/net_prio data instead (the socket then counts as the root's). */
struct sock_cgroup_data___val {
	__u64 val;
} __attribute__((preserve_access_index));

struct sock___cgroup_val {
	struct sock_cgroup_data___val sk_cgrp_data;
} __attribute__((preserve_access_index));

/* A user id as the initial user namespace sees it. */
typedef struct {
	__u32 val;
} __attribute__((preserve_access_index)) kuid_t;

struct sock {
	struct sock_common __sk_common;
	kuid_t sk_uid; /* the socket's owner (the creator's fsuid) */
	struct sock_cgroup_data sk_cgrp_data;
	socket_lock_t sk_lock;
	__u16 sk_protocol;
	int sk_err; /* the errno a failed connect() reports */
	__u32 sk_ack_backlog;     /* a listener's accept queue length */
	__u32 sk_max_ack_backlog; /* and its limit (listen()'s backlog) */
} __attribute__((preserve_access_index));

/* Bit numbers in sock_common.skc_flags; read through CO-RE enum relocation. */
enum sock_flags {
	SOCK_DEAD,
	SOCK_DONE, /* set by tcp_fin(): the peer's FIN has been received */
};

/* inet_sport keeps the local port after close: tcp_set_state(TCP_CLOSE)
 * releases the bind bucket (clearing skc_num) before the tracepoint fires. */
struct inet_sock {
	__be16 inet_sport;
} __attribute__((preserve_access_index));

struct tcp_sock {
	__u64 bytes_received;
	__u64 bytes_acked;
	__u32 snd_una;
	__u32 write_seq;
} __attribute__((preserve_access_index));

/* The registers a system call saved at entry. */
struct pt_regs {
	unsigned long di; /* the first argument */
} __attribute__((preserve_access_index));

/* From a file descriptor to the socket behind it. */
struct socket {
	struct sock *sk;
} __attribute__((preserve_access_index));

struct file {
	void *private_data; /* struct socket * for a socket's file */
} __attribute__((preserve_access_index));

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

struct mnt_namespace {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct nsproxy {
	struct mnt_namespace *mnt_ns;
} __attribute__((preserve_access_index));

struct task_struct {
	struct files_struct *files;
	struct nsproxy *nsproxy; /* NULL once the task is exiting */
} __attribute__((preserve_access_index));

#endif
