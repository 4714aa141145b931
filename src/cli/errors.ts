/**
 * Bad command-line input: exit status 2, like argparse. (An environment that
 * cannot trace is trace/environment.ts's EnvironmentError, exit status 1.)
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
