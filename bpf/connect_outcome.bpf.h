/* How a connect() ended, from the transition that left SYN_SENT: shared by
 * tcptools connect (bpf/connect.bpf.c) and tcptools metrics. */
#ifndef TCPTOOLS_CONNECT_OUTCOME_BPF_H
#define TCPTOOLS_CONNECT_OUTCOME_BPF_H

#include "connect.h"

#define ECONNREFUSED 111
#define ETIMEDOUT 110

/* `error` is sk_err at SYN_SENT -> CLOSE (the errno connect() reports). */
static __always_inline __u8 outcome_of(int newstate, int error)
{
	if (newstate == TCP_ESTABLISHED)
		return CONNECT_ESTABLISHED;
	if (error == ECONNREFUSED)
		return CONNECT_REFUSED;
	if (error == ETIMEDOUT)
		return CONNECT_TIMED_OUT;
	return error ? CONNECT_UNREACHABLE : CONNECT_ABORTED;
}

#endif
