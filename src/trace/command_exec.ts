/**
 * Command mode's launcher (src/trace/command_exec.c, embedded by
 * scripts/build.ts) as a file with no name: it is run by its /proc/self/fd
 * path, never looked up through PATH, and nothing outside this process can
 * reach or change it.
 *
 * @module
 */
import { commandExec } from "../../gen/assets.ts";
import { ANONYMOUS_FILE_PLACES } from "../ffi/anonymous_files.ts";
import { cString, errno, errorText, libc, O } from "../ffi/libc.ts";
import { EnvironmentError } from "./environment.ts";

let path: string | undefined;

/** The path to run it by, valid as long as this process; written on first call. */
export function commandExecPath(): string {
  if (path !== undefined) return path;
  const bytes = Uint8Array.fromBase64(commandExec);
  const tried: string[] = [];
  for (const [place, create] of ANONYMOUS_FILE_PLACES) {
    const fd = create("tcptools-command");
    if (fd < 0) {
      tried.push(`${place}: ${errorText(errno())}`);
      continue;
    }
    try {
      Deno.writeFileSync(`/proc/self/fd/${fd}`, bytes);
      // A file open for writing cannot be run (ETXTBSY): keep a read-only one.
      const readOnly = libc().open(cString(`/proc/self/fd/${fd}`), O.RDONLY | O.CLOEXEC, 0);
      if (readOnly < 0) {
        tried.push(`${place}: ${errorText(errno())}`);
        continue;
      }
      path = `/proc/self/fd/${readOnly}`;
      return path;
    } catch (error) {
      tried.push(`${place}: ${(error as Error).message}`);
    } finally {
      libc().close(fd);
    }
  }
  throw new EnvironmentError(`cannot write the command's launcher (${tried.join("; ")})`);
}
