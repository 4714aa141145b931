/**
 * Errors of the BPF layer. Messages read "verb noun: cause".
 *
 * @module
 */
import { errorText } from "../ffi/libc.ts";

/** A libbpf or kernel call failed with an errno value. */
export class BpfError extends Error {
  /** The positive errno value. */
  readonly code: number;
  /** What was being done, e.g. "load BPF object life". */
  readonly operation: string;
  /**
   * The kernel hook an attach failed at: the program's section name, so the
   * message names what the kernel lacks, whichever options chose the programs.
   */
  readonly hook?: string;

  constructor(operation: string, code: number, hook?: string) {
    super(`${operation}: ${errorText(code)}`);
    this.name = "BpfError";
    this.operation = operation;
    this.code = code;
    this.hook = hook;
  }
}

/** The program asked for something the object does not have. */
export class BpfUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BpfUsageError";
  }
}
