/**
 * Kernel features a program adapts to, probed before it is loaded.
 *
 * @module
 */
import { libbpf } from "../ffi/embedded_libbpf.ts";

// include/uapi/linux/bpf.h
const BPF_PROG_TYPE_TRACEPOINT = 5;
const BPF_FUNC_task_pt_regs = 175;

/**
 * Whether a tracepoint program can read the registers a task saved when it
 * entered the kernel (the bpf_task_pt_regs helper, Linux 5.15+). A probe
 * that cannot run (no privileges) says no; the load then reports why.
 */
export function hasSavedRegisters(): boolean {
  savedRegisters ??= libbpf().libbpf_probe_bpf_helper(
    BPF_PROG_TYPE_TRACEPOINT,
    BPF_FUNC_task_pt_regs,
    null,
  ) === 1;
  return savedRegisters;
}

/** The probe's answer: it loads a program into the kernel, so it runs once. */
let savedRegisters: boolean | undefined;
