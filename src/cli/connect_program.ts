/**
 * The connect BPF object (bpf/connect.bpf.c) as `tcptools connect` and
 * `tcptools connlat` both load it: its handlers and its `.rodata` globals
 * (typed from the object's BTF; those left out keep their C values).
 *
 * @module
 */
import type { ConnectGlobals } from "../../gen/connect.ts";

/** The program, handlers and globals for `trace()`. */
export function connectProgram(globals: ConnectGlobals) {
  return {
    program: "connect" as const,
    attach: ["connect_set_state", "connect_set_state_backup"],
    globals,
  };
}
