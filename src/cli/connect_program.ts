/**
 * The connect BPF object (bpf/connect.bpf.c) as `tcptools connect` and
 * `tcptools connlat` both load it: its handlers and every `.rodata` global,
 * each with its neutral value, named in one place.
 *
 * @module
 */

/** The object's `.rodata` globals (see bpf/connect.bpf.c). */
export type ConnectGlobals = {
  target_pid: number;
  target_uid: number;
  filter_uid: number;
  target_family: number;
  filter_dport: number;
  report_at_start: number;
  report_at_end: number;
  count_only: number;
  answered_only: number;
  min_latency_us: number;
};

const NEUTRAL: ConnectGlobals = {
  target_pid: 0,
  target_uid: 0,
  filter_uid: 0,
  target_family: 0,
  filter_dport: 0,
  report_at_start: 0,
  report_at_end: 0,
  count_only: 0,
  answered_only: 0,
  min_latency_us: 0,
};

/**
 * The program, handlers and globals for `trace()`; unset globals stay
 * neutral. `atSyn`: also attach `connect_syn` (sock_ops, at the cgroup v2
 * root), which reports or counts each connect as its SYN leaves; without it
 * that program is not even loaded (sock_ops programs need CAP_NET_ADMIN).
 */
export function connectProgram(globals: Partial<ConnectGlobals>, atSyn: boolean) {
  return {
    program: "connect" as const,
    attach: ["connect_set_state", "connect_set_state_backup"],
    attachToCgroupRoot: atSyn ? ["connect_syn"] : [],
    skipLoad: atSyn ? [] : ["connect_syn"],
    globals: { ...NEUTRAL, ...globals },
  };
}
