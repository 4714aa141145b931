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

/** The program, handlers and globals for `trace()`; unset globals stay neutral. */
export function connectProgram(globals: Partial<ConnectGlobals>) {
  return {
    program: "connect" as const,
    attach: ["connect_set_state", "connect_set_state_backup"],
    globals: { ...NEUTRAL, ...globals },
  };
}
