/* The one definition of the event tcptools life receives from the kernel.
 * The build generates its TypeScript type and decoder (gen/life.ts) from the
 * object's BTF. */
#ifndef TCPTOOLS_LIFE_H
#define TCPTOOLS_LIFE_H

#include "histogram.h"

#define TASK_COMM_LEN 16

/* The kernel's byte counters advance over SYN and FIN as if they were data.
 * These bits (life_event.control) say which ones a session's counters
 * include, so that user space can report payload bytes exactly. An enum so
 * that it is in the BTF, from which the build generates its TypeScript names. */
enum life_control {
	LIFE_TX_SYN = 0x1, /* tx_bytes includes our SYN (active open) */
	LIFE_TX_FIN = 0x2, /* tx_bytes includes our FIN (it was acknowledged) */
	LIFE_RX_FIN = 0x4, /* rx_bytes includes the peer's FIN */
};

struct life_event {
	__u64 ts_us;      /* bpf_ktime_get_ns() / 1000 at the CLOSE transition */
	__u64 span_us;    /* lifespan: last early-state transition to CLOSE */
	__u64 rx_bytes;   /* tcp_sock.bytes_received */
	__u64 tx_bytes;   /* tcp_sock.bytes_acked */
	__u64 cookie;     /* the socket's cookie; 0 unless asked for (want_cookie) */
	__u64 cgroup_id;  /* the owner's cgroup v2 id when it last acted on the socket */
	__u32 pid;        /* thread-group id of the process that owned the socket */
	__u32 tid;        /* the owner's thread */
	__u32 uid;        /* its real UID */
	__u32 netns;      /* the socket's network namespace inode number */
	__u32 mntns;      /* the owner's mount namespace inode number */
	__u16 lport;      /* host order */
	__u16 rport;      /* host order */
	__u16 family;     /* AF_INET or AF_INET6 */
	__u8 control;     /* enum life_control bits: SYN/FIN in the byte counters */
	__u8 pad[5];
	__u8 laddr[16];   /* network order; the first 4 bytes for AF_INET */
	__u8 raddr[16];
	char comm[TASK_COMM_LEN];
};

_Static_assert(sizeof(struct life_event) == 128, "life_event layout changed");

#endif
