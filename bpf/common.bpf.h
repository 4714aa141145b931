/* Pieces every tcptools program shares: the event ring buffer, the counter of
 * events lost when it is full, and the port-list filter. User space finds the
 * maps by these names. */
#ifndef TCPTOOLS_COMMON_BPF_H
#define TCPTOOLS_COMMON_BPF_H

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* User space sizes it before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* A map as libbpf reads its definition from BTF: its kind, its size, and
 * the types of its keys and values. */
#define BPF_MAP(name, kind, entries, key_type, value_type) \
	struct {                                           \
		__uint(type, kind);                        \
		__uint(max_entries, entries);              \
		__type(key, key_type);                     \
		__type(value, value_type);                 \
	} name SEC(".maps")

/* A counter user space reads and reports: one slot, per CPU. */
#define PERCPU_COUNTER(name) BPF_MAP(name, BPF_MAP_TYPE_PERCPU_ARRAY, 1, __u32, __u64)

/* Atomic although the counter is per CPU: a softirq can interrupt the
 * handler between reading and writing it, and a plain += would then drop
 * one of the two counts (seen under overload as a session neither printed
 * nor counted). */
static __always_inline void count_one(void *counter)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(counter, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Adds one to the __u64 count of `key` in the hash map `map`, making the
 * entry if there is none; false if the map is full. */
static __always_inline int count_in(void *map, const void *key)
{
	__u64 zero = 0, *n = bpf_map_lookup_elem(map, key);

	if (!n) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(map, key);
	}
	if (!n)
		return 0;
	__sync_fetch_and_add(n, 1);
	return 1;
}

/* Incremented whenever the ring buffer has no room, so a full buffer is
 * reported as a count instead of silently dropping events. */
PERCPU_COUNTER(lost_events);

static __always_inline void *reserve_event(__u64 size)
{
	void *event = bpf_ringbuf_reserve(&events, size, 0);
	if (!event)
		count_one(&lost_events);
	return event;
}

/* Set by user space before load: once this many bytes wait in the ring
 * buffer, each new event wakes the reader (0: never forced). */
const volatile __u64 wakeup_bytes = 0;

/* Non-zero while the reader drains on a timer of its own (src/trace/run.ts):
 * user space sets it when events keep coming and clears it when they stop. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} reader_polling SEC(".maps");

/* Submits a reserved event. Without flags the kernel wakes the reader only
 * for a record it has caught up to (kernel/bpf/ringbuf.c, bpf_ringbuf_commit):
 * the first one after it drained everything. The reader then waits a batch
 * period before draining, and takes no wake-ups meanwhile. While it polls,
 * not even that first record wakes it: it drains every batch period anyway.
 * In both cases a buffer filling up wakes it at once, so that it drains
 * before events are lost. */
static __always_inline void submit_event(void *event)
{
	__u32 zero = 0;
	__u32 *polling = bpf_map_lookup_elem(&reader_polling, &zero);
	__u64 flags = polling && *polling ? BPF_RB_NO_WAKEUP : 0;

	if (wakeup_bytes && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(event, flags);
}

/* The kernel skips a tracing program when its tracepoint fires again on a
 * CPU where that program is already running (kernel/trace/bpf_trace.c,
 * __bpf_trace_run, counts it in the program's recursion_misses): a softirq
 * changing a socket's state while the handler runs in a system call. Each
 * tool therefore attaches its handler twice, and the backup handles exactly
 * the hits the primary was skipped for.
 *
 * Only two levels nest on a CPU (a system call, and a softirq interrupting
 * it), and for each hit the kernel runs the primary, then the backup, unless
 * it skips them. So the backup of a hit decides:
 *  - while the primary's body is running (primary_busy), the hit is nested
 *    in it, and the kernel skipped the primary for it;
 *  - otherwise the primary noted the hit before handling it, unless it was
 *    skipped in the few instructions before or after its body that the busy
 *    flag does not cover. The backup takes the note away, so that a later
 *    hit of identical identity (a socket's memory and ports are reused at
 *    once) cannot match it.
 * While the backup's body runs, the backup of a nested hit will be skipped,
 * so its primary notes nothing. A hit nested just before the backup's body
 * starts leaves a note nobody takes; it is newer than the backup's own note,
 * and is dropped with it. A hit is lost only if both programs are skipped;
 * user space reports primary misses minus rescued hits. */
#define HIT_NOTES 4

struct hit_note {
	__u64 sk; /* the socket's address; 0: a free slot */
	__u64 what; /* its ports and both states */
	__u64 seq; /* when it was noted; the first note is 1 */
};

struct hit_notes {
	struct hit_note note[HIT_NOTES];
	__u64 seq;
	__u8 primary_busy;
	__u8 backup_busy;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hit_notes);
} primary_notes SEC(".maps");

/* Hits the backup handled because the primary was skipped. */
PERCPU_COUNTER(rescued_events);

static __always_inline struct hit_notes *hit_notes(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&primary_notes, &zero);
}

/* The socket's address as a number: the verifier forbids turning the trusted
 * pointer into one, so it is copied out of the tracepoint's arguments. */
static __always_inline __u64 socket_address(const __u64 *ctx)
{
	__u64 addr = 0;
	bpf_probe_read_kernel(&addr, sizeof(addr), &ctx[0]);
	return addr;
}

static __always_inline __u64 transition(const struct sock *sk, int oldstate, int newstate)
{
	__u64 sport = BPF_CORE_READ((struct inet_sock *)sk, inet_sport);
	__u64 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);

	return (sport << 48) | (dport << 32) | ((__u64)(oldstate & 0xff) << 8) | (newstate & 0xff);
}

/* In the primary: notes the hit in a free slot, else over the oldest note. */
static __always_inline void note_hit(struct hit_notes *n, __u64 sk, __u64 what)
{
	__u32 slot = 0;
	__u64 oldest = ~0ULL;

	for (__u32 i = 0; i < HIT_NOTES; i++) {
		if (!n->note[i].sk) {
			slot = i;
			break;
		}
		if (n->note[i].seq < oldest) {
			oldest = n->note[i].seq;
			slot = i;
		}
	}
	slot &= HIT_NOTES - 1;
	n->note[slot].sk = sk;
	n->note[slot].what = what;
	n->note[slot].seq = ++n->seq;
}

/* In the backup: takes the primary's note of this hit, and every newer one;
 * false if there is none. */
static __always_inline int take_note(struct hit_notes *n, __u64 sk, __u64 what)
{
	__u64 seq = 0;

	for (__u32 i = 0; i < HIT_NOTES; i++) {
		if (n->note[i].sk == sk && n->note[i].what == what) {
			seq = n->note[i].seq;
			break;
		}
	}
	if (!seq)
		return 0;
	for (__u32 i = 0; i < HIT_NOTES; i++)
		if (n->note[i].seq >= seq)
			n->note[i].sk = 0;
	return 1;
}

/* Starts a hit in the primary (`backup` 0) or the backup (1), marking that
 * program busy, and says whether it handles the hit: the primary always,
 * noting it first for the backup; the backup only a hit the primary was
 * skipped for. */
static __always_inline int hit_starts(struct hit_notes *n, int backup, const __u64 *ctx,
				      const struct sock *sk, int oldstate, int newstate)
{
	if (!backup) {
		n->primary_busy = 1;
		if (!n->backup_busy)
			note_hit(n, socket_address(ctx), transition(sk, oldstate, newstate));
		return 1;
	}
	n->backup_busy = 1;
	if (n->primary_busy || !take_note(n, socket_address(ctx), transition(sk, oldstate, newstate))) {
		count_one(&rescued_events);
		return 1;
	}
	return 0;
}

static __always_inline void hit_ends(struct hit_notes *n, int backup)
{
	if (backup)
		n->backup_busy = 0;
	else
		n->primary_busy = 0;
}

#define SET_STATE_PROGRAM(name, is_backup, handle)                                  \
	SEC("tp_btf/inet_sock_set_state")                                            \
	int BPF_PROG(name, const struct sock *sk, int oldstate, int newstate)        \
	{                                                                            \
		struct hit_notes *n = hit_notes();                                   \
		if (!n)                                                              \
			return 0;                                                    \
		if (hit_starts(n, is_backup, ctx, sk, oldstate, newstate))           \
			handle(sk, oldstate, newstate);                              \
		hit_ends(n, is_backup);                                              \
		return 0;                                                            \
	}

/* Declares the primary and the backup program of a tracepoint handler
 * `handle(sk, oldstate, newstate)`. */
#define SET_STATE_HANDLERS(primary, backup, handle) \
	SET_STATE_PROGRAM(primary, 0, handle)        \
	SET_STATE_PROGRAM(backup, 1, handle)

/* A port list (-P, -L, -D) is a small hash of allowed ports, filled by user
 * space between load and attach; the program consults it only when the
 * matching const volatile flag is set, so the verifier prunes it otherwise. */
#define PORT_FILTER_MAP(name) BPF_MAP(name, BPF_MAP_TYPE_HASH, 1024, __u16, __u8)

static __always_inline int port_listed(void *map, __u16 port)
{
	return bpf_map_lookup_elem(map, &port) != 0;
}

/* inet_sock_set_state also fires for other protocols on inet sockets (SCTP,
 * MPTCP's own socket): only TCP sockets are traced. */
static __always_inline int is_tcp(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline __u32 current_pid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* The contexts of the syscalls:sys_enter_* and sys_exit_* tracepoints (their
 * tracefs format files). */
struct syscall_enter {
	__u64 common; /* type, flags, preempt count, pid */
	int nr;
	unsigned long args[6];
};

struct syscall_exit {
	__u64 common; /* type, flags, preempt count, pid */
	int nr;
	long ret; /* the return value: for accept(), the new descriptor or -errno */
};

/* The socket behind a descriptor of the current task, or NULL. */
static __always_inline struct sock *socket_of(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **files;
	struct file *file;
	struct socket *sock;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	files = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &files[fd]) || !file)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : 0;
}

/* Scope filters, set by user space before load (src/trace/scope.ts); the
 * verifier drops the checks they disable.
 *
 * --cgroup PATH and command mode: the socket's cgroup v2 (where the process
 * that created it was, or for an accepted socket its listener's), which is
 * right in softirq too, must be the cgroup of id target_cgroup_id at level
 * target_cgroup_level, or below it. */
const volatile __u64 target_cgroup_id = 0; /* 0: every cgroup */
const volatile __u32 target_cgroup_level = 0;
/* --cgroupmap and --mntnsmap (bcc's): the current task's cgroup v2 id, or its
 * mount namespace's id, must be a key of the map pinned by the user, which
 * user space puts in place of these (bpf_map__reuse_fd) before load. They
 * name a task, so each tool checks them where the process is known. */
const volatile __u8 filter_cgroupmap = 0;
const volatile __u8 filter_mntnsmap = 0;

#define SCOPE_MAP(name) BPF_MAP(name, BPF_MAP_TYPE_HASH, 1, __u64, __u64)

SCOPE_MAP(cgroupmap);
SCOPE_MAP(mntnsmap);

/* The socket's cgroup v2; NULL for the root on kernels before 5.15 where
 * net_cls or net_prio data took its place. */
static __always_inline const struct cgroup *socket_cgroup(const struct sock *sk)
{
	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	__u64 val = BPF_CORE_READ((struct sock___cgroup_val *)sk, sk_cgrp_data.val);
	return (val & 1) ? 0 : (const struct cgroup *)val;
}

/* Whether the socket is in the --cgroup directory or below it: its ancestor
 * at the target's level is the target. */
static __always_inline int socket_in_scope(const struct sock *sk)
{
	const struct cgroup *cgroup;
	__u32 level = target_cgroup_level;
	__u64 id = 0;

	if (!target_cgroup_id)
		return 1;
	cgroup = socket_cgroup(sk);
	if (!cgroup)
		return level == 0;
	if (BPF_CORE_READ(cgroup, level) < (int)level)
		return 0;
	if (bpf_core_field_exists(cgroup->ancestors)) {
		struct cgroup *ancestor = 0;
		bpf_core_read(&ancestor, sizeof(ancestor), &cgroup->ancestors[level]);
		id = BPF_CORE_READ(ancestor, kn, id);
	} else {
		const struct cgroup___ancestor_ids *old = (const void *)cgroup;
		bpf_core_read(&id, sizeof(id), &old->ancestor_ids[level]);
	}
	return id == target_cgroup_id;
}

/* Whether the current task passes --cgroupmap and --mntnsmap. */
static __always_inline int task_in_scope(void)
{
	if (filter_cgroupmap) {
		__u64 id = bpf_get_current_cgroup_id();
		if (!bpf_map_lookup_elem(&cgroupmap, &id))
			return 0;
	}
	if (filter_mntnsmap) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		__u64 id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
		if (!bpf_map_lookup_elem(&mntnsmap, &id))
			return 0;
	}
	return 1;
}

/* Reads a socket's addresses: 4 bytes each for AF_INET, 16 for AF_INET6. */
static __always_inline void read_addresses(const struct sock *sk, __u16 family,
					   __u8 *laddr, __u8 *raddr)
{
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__be32 *)laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)raddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)raddr, sk, __sk_common.skc_v6_daddr);
	}
}

#endif
