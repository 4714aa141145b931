/**
 * Opens the libbpf this binary carries (with its libelf, zlib and the fstat
 * shim that lets libelf load on glibc before 2.33) without
 * touching the host's libraries: each is written to an anonymous memory file
 * and opened as /proc/self/fd/N. They are opened in dependency order, so when
 * libbpf asks for libelf.so.1 the dynamic loader finds the already loaded
 * object with that soname instead of searching the disk. Where a memory file
 * cannot be created or mapped, an unnamed temporary file is used the same way.
 * TCPTOOLS_LIBBPF=/path/to/libbpf.so.1 opens a system libbpf instead.
 *
 * @module
 */
import { libraries } from "../../gen/assets.ts";
import { ANONYMOUS_FILE_PLACES as PLACES } from "./anonymous_files.ts";
import { errno, errorText, libc } from "./libc.ts";
import { type Libbpf, libbpfSymbols, printCallbackDefinition } from "./libbpf.ts";

let opened: Deno.DynamicLibrary<typeof libbpfSymbols> | undefined;
/** Dependencies stay open as long as libbpf does. */
const dependencies: Deno.DynamicLibrary<Record<never, never>>[] = [];

/** Loading the embedded libraries failed; names each place tried. */
export class LibraryLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LibraryLoadError";
  }
}

/**
 * Opens the embedded libraries in order, each from the first place (see
 * anonymous_files.ts) where it can be written and then loaded. The files stay open until
 * every library is loaded: the loader identifies a library by its path, so a
 * reused /proc/self/fd/N would be taken for the earlier one.
 */
function openEmbedded(): Deno.DynamicLibrary<typeof libbpfSymbols> {
  const fds: number[] = [];
  const open = <S extends Deno.ForeignLibraryInterface>(soname: string, symbols: S) => {
    const bytes = Uint8Array.fromBase64(libraries[soname]);
    const tried: string[] = [];
    for (const [place, create] of PLACES) {
      const fd = create(soname);
      if (fd < 0) {
        tried.push(`${place}: ${errorText(errno())}`);
        continue;
      }
      fds.push(fd);
      // /proc/self/fd/N reopens this very file, whatever it is named (nothing).
      const path = `/proc/self/fd/${fd}`;
      try {
        Deno.writeFileSync(path, bytes);
        return Deno.dlopen(path, symbols);
      } catch (error) {
        tried.push(`${place}: ${(error as Error).message}`);
      }
    }
    throw new LibraryLoadError(`cannot load the embedded ${soname} (${tried.join("; ")})`);
  };
  try {
    const sonames = Object.keys(libraries);
    const last = sonames.pop()!;
    for (const soname of sonames) dependencies.push(open(soname, {}));
    return open(last, libbpfSymbols);
  } finally {
    for (const fd of fds) libc().close(fd); // the loader keeps its own mappings
  }
}

/** The libbpf in use, opened (with what it needs) on first call. */
export function libbpf(): Libbpf {
  if (opened === undefined) {
    const system = Deno.env.get("TCPTOOLS_LIBBPF");
    opened = system ? Deno.dlopen(system, libbpfSymbols) : openEmbedded();
    // libbpf's own messages would duplicate ours; TCPTOOLS_DEBUG keeps them.
    if (!Deno.env.get("TCPTOOLS_DEBUG")) opened.symbols.libbpf_set_print(null);
  }
  return opened.symbols;
}

const STDERR = 2;
/** Lives as long as the process: libbpf may call it at any time. */
let everyMessage: Deno.UnsafeCallback<typeof printCallbackDefinition> | undefined;

/**
 * Prints every libbpf message on stderr, debug ones included (-v). libbpf's
 * own printer drops debug messages, and a clean load has no others, so it
 * would show nothing; libbpf 1.1 has no LIBBPF_LOG_LEVEL to change that.
 * Called synchronously by libbpf on this thread, with the C format and its
 * arguments, which vdprintf formats.
 */
export function showLibbpfLog(): void {
  const lib = libbpf();
  everyMessage ??= new Deno.UnsafeCallback(
    printCallbackDefinition,
    (_level, format, args) => libc().vdprintf(STDERR, format, args),
  );
  lib.libbpf_set_print(everyMessage.pointer);
}
