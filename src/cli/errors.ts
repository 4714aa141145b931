/**
 * The two ways a run fails before or while tracing, with their exit codes:
 * bad input (2, like argparse) and an environment that cannot trace (1).
 *
 * @module
 */

/** Bad command-line input: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The host cannot run the tracer (privileges, BTF, kernel support): exit status 1. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}
