/* --hist (tcptools life and connlat): instead of sending an event per
 * connect or session, the program adds it to a power-of-two histogram in the
 * `hists` map, which user space reads at each --interval and at the end. A
 * full map is counted in hist_overflow and reported, never dropped silently. */
#ifndef TCPTOOLS_HISTOGRAM_BPF_H
#define TCPTOOLS_HISTOGRAM_BPF_H

#include "histogram.h"

/* Set by user space before load; HIST_OFF leaves the program's events as they are. */
const volatile __u8 hist_value = HIST_OFF; /* enum hist_value */
const volatile __u8 hist_by = HIST_BY_NONE; /* enum hist_by */
const volatile __u64 hist_unit_ns = 1000;   /* HIST_TIME: nanoseconds per unit (usecs) */

/* User space sizes it before load (--hist-limit). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hist_key);
	__type(value, __u64);
} hists SEC(".maps");

/* Connects or sessions the full `hists` map had no slot for. */
PERCPU_COUNTER(hist_overflow);

/* Put the shared types into the object's BTF, where the build reads them. */
struct hist_key *unused_hist_key __attribute__((unused));
enum hist_value *unused_hist_value __attribute__((unused));
enum hist_by *unused_hist_by __attribute__((unused));

/* 1 + floor(log2(value)), and 1 for 0: the slots bcc's bpf_log2l() gives,
 * which its histograms print from "0 -> 1" on. */
static __always_inline __u32 hist_slot(__u64 value)
{
	__u32 slot = 1;

	for (__u32 shift = 32; shift > 0; shift >>= 1) {
		if (value >> shift) {
			value >>= shift;
			slot += shift;
		}
	}
	return slot;
}

/* Counts one connect or session: `value` in nanoseconds (HIST_TIME) or
 * bytes, under the key --hist-by asked for (`comm`: TASK_COMM_LEN bytes). */
static __always_inline void hist_count(__u64 value, __u32 pid, const char *comm, __u16 port)
{
	struct hist_key key = {};

	if (hist_value == HIST_TIME)
		value /= hist_unit_ns;
	key.slot = hist_slot(value);
	if (hist_by == HIST_BY_PID)
		key.id = pid;
	else if (hist_by == HIST_BY_PORT)
		key.id = port;
	else if (hist_by == HIST_BY_COMM)
		__builtin_memcpy(key.comm, comm, sizeof(key.comm));
	if (!count_in(&hists, &key))
		count_one(&hist_overflow);
}

#endif
