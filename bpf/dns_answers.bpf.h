/* connect -d: DNS answers, for the QUERY column (the name each destination
 * address was looked up by). Loaded only with -d.
 *
 * Cgroup skb programs at the cgroup v2 root run for every packet a socket of
 * any process below it sends (egress) and for every packet the kernel queues
 * to one (ingress: sk_filter(), from udp_queue_rcv_one_skb()), whichever
 * system call reads it later. No tracepoint sees them all:
 * skb:skb_copy_datagram_iovec does not fire for the linear datagrams
 * udp_recvmsg() copies itself (copy_linear_skb(), most of them), and the
 * recv* system calls are several, each with its own buffer layout. Both
 * programs pass every packet (return 1).
 *
 * A datagram from port 53 is taken for an answer only if the socket that
 * receives it sent, to port 53, a query with the same transaction id and
 * the same question (its bytes, ASCII case aside) and no answer to it came
 * yet: the queries wait in socket-local storage, which only that socket's
 * traffic can touch and which goes with the socket. Anyone can send a
 * datagram from port 53 in a network namespace of their own; it then
 * answers nothing. The record carries the receiving socket's network
 * namespace and owner: user space applies its names only to connects there
 * (src/dns/cache.ts). DNS over TCP is not read. */
#ifndef TCPTOOLS_DNS_ANSWERS_BPF_H
#define TCPTOOLS_DNS_ANSWERS_BPF_H

#include "common.bpf.h"
#include "identity.bpf.h"
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_UDP 17
#define DNS_PORT 53
#define DNS_HEADER_LEN 12
#define UDP_HEADER_LEN 8
/* A question: a name of at most 255 bytes, its type and class. */
#define DNS_QUESTION_MAX (255 + 4)
/* Queries a socket may have waiting at once; a resolver asks A and AAAA
 * together, and retries with new ids. The oldest waiting one is replaced. */
#define DNS_WAITING_MAX 8
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

struct connect_dns_answer *unused_connect_dns_answer __attribute__((unused));

/* The queries one socket sent that no answer matched yet. */
struct dns_waiting {
	__u64 question[DNS_WAITING_MAX]; /* question_hash(); 0 for a free slot */
	__u16 id[DNS_WAITING_MAX];       /* transaction id, network order */
	__u32 next;                      /* the slot the next query takes */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_waiting);
} dns_queries SEC(".maps");

/* The start of a DNS message, per CPU: too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[DNS_PAYLOAD_MAX]);
} dns_scratch SEC(".maps");

/* Where the UDP header starts, or 0 if the packet is not UDP. Cgroup skb
 * programs see the packet from its network header, both ways. IPv6
 * extension headers are not followed: DNS does not use them. */
static __always_inline __u32 udp_offset(struct __sk_buff *skb)
{
	__u8 byte;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 9, &byte, 1) || byte != IPPROTO_UDP)
			return 0;
		if (bpf_skb_load_bytes(skb, 0, &byte, 1))
			return 0;
		return (byte & 0xf) * 4; /* IHL, in 32-bit words */
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, &byte, 1) || byte != IPPROTO_UDP)
			return 0;
		return 40;
	}
	return 0;
}

/* The length of the DNS message in a UDP datagram to or from port 53
 * (`port_at` 2 for the destination, 0 for the source), capped at
 * DNS_PAYLOAD_MAX, and where it starts; 0 if there is none. 64 bits, and
 * the barriers: the bounds checks then stay on the register the copy takes,
 * where the verifier needs them. */
static __always_inline __u64 dns_message(struct __sk_buff *skb, __u32 port_at, __u32 *start)
{
	__u32 udp = udp_offset(skb);
	__be16 port;

	if (!udp || bpf_skb_load_bytes(skb, udp + port_at, &port, sizeof(port)) ||
	    port != bpf_htons(DNS_PORT))
		return 0;
	if (skb->len < udp + UDP_HEADER_LEN + DNS_HEADER_LEN)
		return 0;
	__u64 length = (__u64)skb->len - udp - UDP_HEADER_LEN;
	barrier_var(length);
	if (length < DNS_HEADER_LEN)
		return 0;
	if (length > DNS_PAYLOAD_MAX)
		length = DNS_PAYLOAD_MAX;
	barrier_var(length);
	*start = udp + UDP_HEADER_LEN;
	return length;
}

/* FNV-1a of a message's first question (name, type, class), or 0 if it has
 * none within `length` bytes. An answer repeats its query's question byte
 * for byte (RFC 1035 4.1.2; resolvers that randomise the case of their
 * names rely on it). A name in a question is labels, no compression
 * pointers. */
static __always_inline __u64 question_hash(const __u8 *message, __u64 length)
{
	__u32 end = DNS_HEADER_LEN;

	for (int labels = 0; labels < 128; labels++) {
		if (end >= length)
			return 0;
		__u8 label = message[end & (DNS_PAYLOAD_MAX - 1)];
		if (label == 0)
			break;
		if (label > 63)
			return 0;
		end += label + 1;
	}
	end += 1 + 4;
	if (end > length || end > DNS_HEADER_LEN + DNS_QUESTION_MAX)
		return 0;
	__u64 hash = FNV64_OFFSET;
	for (__u32 i = DNS_HEADER_LEN; i < DNS_HEADER_LEN + DNS_QUESTION_MAX; i++) {
		if (i >= end)
			break;
		hash = (hash ^ message[i & (DNS_PAYLOAD_MAX - 1)]) * FNV64_PRIME;
	}
	return hash | 1;
}

/* The full socket of a packet, as a pointer the probe reads can take (the
 * verifier allows no arithmetic on a socket pointer). */
static __always_inline const struct sock *packet_socket(struct __sk_buff *skb)
{
	struct bpf_sock *s = skb->sk;
	if (!s)
		return 0;
	s = bpf_sk_fullsock(s);
	if (!s)
		return 0;
	const struct sock *sk = 0;
	bpf_probe_read_kernel(&sk, sizeof(sk), &s);
	return sk;
}

/* The DNS message of a UDP datagram to (`port_at` 2) or from (0) port 53,
 * copied into this CPU's scratch buffer; its length, or 0. */
static __always_inline __u64 load_dns_message(struct __sk_buff *skb, __u32 port_at, __u8 **message)
{
	__u32 start, zero = 0;
	__u64 length = dns_message(skb, port_at, &start);

	*message = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!length || !*message || bpf_skb_load_bytes(skb, start, *message, length))
		return 0;
	return length;
}

SEC("cgroup_skb/egress")
int connect_dns_query(struct __sk_buff *skb)
{
	__u8 *message;
	__u64 length = load_dns_message(skb, 2, &message);

	if (!length || !skb->sk || (message[2] & 0x80)) /* QR set: a response */
		return 1;
	__u64 question = question_hash(message, length);
	struct bpf_sock *sk = bpf_sk_fullsock(skb->sk);
	if (!question || !sk)
		return 1;
	struct dns_waiting *waiting =
		bpf_sk_storage_get(&dns_queries, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!waiting)
		return 1;
	__u32 slot = waiting->next % DNS_WAITING_MAX;
	waiting->question[slot] = question;
	waiting->id[slot] = *(__u16 *)message;
	waiting->next = slot + 1;
	return 1;
}

SEC("cgroup_skb/ingress")
int connect_dns(struct __sk_buff *skb)
{
	__u8 *message;
	__u64 length = load_dns_message(skb, 0, &message);

	if (!length || !skb->sk || !(message[2] & 0x80)) /* QR clear: a query */
		return 1;
	struct bpf_sock *s = bpf_sk_fullsock(skb->sk);
	if (!s)
		return 1;
	struct dns_waiting *waiting = bpf_sk_storage_get(&dns_queries, s, 0, 0);
	if (!waiting) /* this socket sent no query */
		return 1;
	__u64 question = question_hash(message, length);
	__u16 id = *(__u16 *)message;
	int matched = 0;
	for (int i = 0; i < DNS_WAITING_MAX; i++) {
		if (question && waiting->question[i] == question && waiting->id[i] == id) {
			waiting->question[i] = 0; /* answered: a second answer is not taken */
			matched = 1;
		}
	}
	const struct sock *sk = packet_socket(skb);
	if (!matched || !sk)
		return 1;

	struct connect_dns_answer *e = reserve_event(sizeof(*e));
	if (!e)
		return 1;
	e->ts_us = bpf_ktime_get_ns() / 1000;
	e->netns = socket_netns(sk);
	e->uid = BPF_CORE_READ(sk, sk_uid.val);
	e->length = length;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	/* All of it, a fixed size the compiler unrolls; user space reads `length`. */
	__builtin_memcpy(e->payload, message, DNS_PAYLOAD_MAX);
	submit_event(e);
	return 1;
}

#endif
