/* connect -d: DNS answers, for the QUERY column (the name each destination
 * address was looked up by). Loaded only with -d.
 *
 * A cgroup skb program at the cgroup v2 root runs for every packet the
 * kernel queues to a socket of any process below it, UDP included
 * (sk_filter(), from udp_queue_rcv_one_skb()), whichever system call reads
 * it later. It passes every packet (returns 1) and copies the start of each
 * UDP datagram from source port 53 into the ring buffer. No tracepoint sees
 * them all: skb:skb_copy_datagram_iovec does not fire for the linear
 * datagrams udp_recvmsg() copies itself (copy_linear_skb(), most of them),
 * and the recv* system calls are several, each with its own buffer layout.
 * DNS over TCP is not read. */
#ifndef TCPTOOLS_DNS_ANSWERS_BPF_H
#define TCPTOOLS_DNS_ANSWERS_BPF_H

#include "common.bpf.h"
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_UDP 17
#define DNS_PORT 53
#define DNS_HEADER_LEN 12
#define UDP_HEADER_LEN 8

struct connect_dns_answer *unused_connect_dns_answer __attribute__((unused));

/* Where the UDP header starts, or 0 if the packet is not UDP. At ingress the
 * program sees the packet from its network header. IPv6 extension headers
 * are not followed: a DNS answer does not carry them. */
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

SEC("cgroup_skb/ingress")
int connect_dns(struct __sk_buff *skb)
{
	__u32 udp = udp_offset(skb);
	__be16 sport;

	if (!udp || bpf_skb_load_bytes(skb, udp, &sport, sizeof(sport)) ||
	    sport != bpf_htons(DNS_PORT))
		return 1;
	if (skb->len < udp + UDP_HEADER_LEN + DNS_HEADER_LEN)
		return 1;
	/* 64 bits, and the barriers: the bounds checks then stay on the
	 * register the copy takes, where the verifier needs them. */
	__u64 length = (__u64)skb->len - udp - UDP_HEADER_LEN;
	barrier_var(length);
	if (length < DNS_HEADER_LEN)
		return 1;
	if (length > DNS_PAYLOAD_MAX)
		length = DNS_PAYLOAD_MAX;
	barrier_var(length);

	struct connect_dns_answer *e = reserve_event(sizeof(*e));
	if (!e)
		return 1;
	e->ts_us = bpf_ktime_get_ns() / 1000;
	e->length = length;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	if (bpf_skb_load_bytes(skb, udp + UDP_HEADER_LEN, e->payload, length)) {
		bpf_ringbuf_discard(e, 0);
		return 1;
	}
	submit_event(e);
	return 1;
}

#endif
