/* The one definition of the event tcptools connect and connlat receive: one
 * active TCP open (connect()). The build generates its TypeScript type and
 * decoder (gen/connect.ts) from the object's BTF. */
#ifndef TCPTOOLS_CONNECT_H
#define TCPTOOLS_CONNECT_H

#include "histogram.h"

#define TASK_COMM_LEN 16

/* How the attempt ended, as far as the kernel knows when it is reported
 * (connect_event.outcome). An enum so that it is in the BTF, from which the
 * build generates its TypeScript names. */
enum connect_outcome {
	CONNECT_PENDING = 0,     /* reported inside connect() as the SYN leaves, before any answer */
	CONNECT_ESTABLISHED = 1, /* SYN-ACK: SYN_SENT -> ESTABLISHED */
	CONNECT_REFUSED = 2,     /* RST: SYN_SENT -> CLOSE with ECONNREFUSED */
	CONNECT_TIMED_OUT = 3,   /* no answer: SYN_SENT -> CLOSE with ETIMEDOUT */
	CONNECT_UNREACHABLE = 4, /* ICMP error: SYN_SENT -> CLOSE with another error */
	CONNECT_ABORTED = 5,     /* closed by the application before any answer */
};

struct connect_event {
	__u64 start_us;   /* bpf_ktime_get_ns() / 1000 at CLOSE -> SYN_SENT, in connect() */
	__u64 latency_us; /* from start to the report: the answer (SYN_SENT -> next state), or
			   * for PENDING the SYN leaving (tcp_connect) */
	__u64 cookie;     /* the socket's cookie (bpf_get_socket_cookie) */
	__u64 cgroup_id;  /* the caller's cgroup v2 id, in connect() */
	__u32 pid;        /* thread-group id of the caller of connect() */
	__u32 uid;        /* its real UID */
	__u32 tid;        /* its thread */
	__u32 netns;      /* the socket's network namespace inode number */
	__u32 mntns;      /* the caller's mount namespace inode number */
	__u16 lport;      /* host order */
	__u16 dport;      /* host order */
	__u16 family;     /* AF_INET or AF_INET6 */
	__u8 outcome;     /* enum connect_outcome */
	__u8 pad;
	__u32 error;      /* sk_err at the close (an errno), else 0 */
	__u8 saddr[16];   /* network order; the first 4 bytes for AF_INET */
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
};

_Static_assert(sizeof(struct connect_event) == 112, "connect_event layout changed");

/* One DNS response a socket received from port 53 (connect -d) for a query
 * the same socket sent (same transaction id and question): its first
 * DNS_PAYLOAD_MAX bytes, which user space parses, and who received it, for
 * whose connects its names count. It shares the ring buffer with
 * connect_event; the two are told apart by their sizes. */
#define DNS_PAYLOAD_MAX 512

struct connect_dns_answer {
	__u64 ts_us;     /* bpf_ktime_get_ns() / 1000 as the socket received it */
	__u32 netns;     /* the receiving socket's network namespace inode number */
	__u32 uid;       /* the receiving socket's owner (sk_uid, the initial namespace's) */
	__u16 length;    /* bytes of payload holding the message's start (at most 512) */
	__u8 pad[6];
	__u8 payload[DNS_PAYLOAD_MAX];
};

_Static_assert(sizeof(struct connect_dns_answer) == 536, "connect_dns_answer layout changed");
_Static_assert(sizeof(struct connect_dns_answer) != sizeof(struct connect_event),
	       "the ring buffer's two record kinds are told apart by their sizes");

/* Key of the per-destination counters of `tcptools connect -c`. */
struct connect_count_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 dport;
	__u16 family;
};

_Static_assert(sizeof(struct connect_count_key) == 36, "connect_count_key layout changed");

#endif
