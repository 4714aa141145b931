/* Which SYN/FIN sequence numbers a closing socket's byte counters hold:
 * shared by tcptools life (bpf/life.bpf.c, for user space to remove them,
 * or for life --hist bytes in the kernel) and tcptools metrics (which removes
 * them in the kernel). */
#ifndef TCPTOOLS_PAYLOAD_BYTES_BPF_H
#define TCPTOOLS_PAYLOAD_BYTES_BPF_H

#include "life.h"

/* `syn_acked`: the socket went SYN_SENT -> ESTABLISHED; `fin_sent`: it went
 * to FIN_WAIT1 or LAST_ACK, which send our FIN. Our FIN is the last sequence
 * number written (write_seq counts it), so once it was sent, snd_una ==
 * write_seq means it was acknowledged. */
static __always_inline __u8 control_sequences(const struct sock *sk, __u8 syn_acked, __u8 fin_sent)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u8 control = 0;

	if (syn_acked)
		control |= LIFE_TX_SYN;
	if (fin_sent && BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		control |= LIFE_TX_FIN;
	if (BPF_CORE_READ(sk, __sk_common.skc_flags) & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE)))
		control |= LIFE_RX_FIN;
	return control;
}

/* The payload bytes a closing socket sent (and had acknowledged) and
 * received: its byte counters without the SYN and FINs they include. */
static __always_inline void payload_bytes(const struct sock *sk, __u8 syn_acked, __u8 fin_sent,
					  __u64 *sent, __u64 *received)
{
	__u8 control = control_sequences(sk, syn_acked, fin_sent);
	__u64 rx = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	__u64 tx = BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked);

	*received = rx - ((control & LIFE_RX_FIN) ? 1 : 0);
	*sent = tx - ((control & LIFE_TX_SYN) ? 1 : 0) - ((control & LIFE_TX_FIN) ? 1 : 0);
}

#endif
