/* Which SYN/FIN sequence numbers a closing socket's byte counters hold:
 * shared by tcptools life (bpf/life.bpf.c, for user space to remove them)
 * and tcptools metrics (which removes them in the kernel). */
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

#endif
