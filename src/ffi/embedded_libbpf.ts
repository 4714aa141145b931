/**
 * Opens the libbpf this binary carries (with its libelf and zlib) without
 * touching the host's libraries: each is written to an anonymous memory file
 * and opened as /proc/self/fd/N. They are opened in dependency order, so when
 * libbpf asks for libelf.so.1 the dynamic loader finds the already loaded
 * object with that soname instead of searching the disk. Where a memory file
 * cannot be created, a private temporary file (removed right after) is used.
 * TCPTOOLS_LIBBPF=/path/to/libbpf.so.1 opens a system libbpf instead.
 *
 * @module
 */
import { libraries } from "../../gen/assets.ts";
import { cString, libc } from "./libc.ts";
import { type Libbpf, libbpfSymbols } from "./libbpf.ts";

const MFD_CLOEXEC = 0x1;

let opened: Deno.DynamicLibrary<typeof libbpfSymbols> | undefined;
/** libbpf's own printer (to stderr), kept while it is silenced. */
let defaultPrinter: Deno.PointerValue = null;
/** Dependencies stay open as long as libbpf does. */
const dependencies: Deno.DynamicLibrary<Record<never, never>>[] = [];

/**
 * Puts each library in a file of its own and returns the paths. Memory files
 * stay open until every library is loaded: the loader identifies a library
 * by its path, so a reused /proc/self/fd/N would be taken for the earlier one.
 */
function libraryFiles(entries: [string, Uint8Array][]): { paths: string[]; release(): void } {
  const fds: number[] = [];
  let dir: string | undefined;
  const paths = entries.map(([soname, bytes]) => {
    const fd = libc().memfd_create(cString(soname), MFD_CLOEXEC);
    let path: string;
    if (fd >= 0) {
      fds.push(fd);
      path = `/proc/self/fd/${fd}`;
    } else {
      dir ??= Deno.makeTempDirSync({ prefix: "tcptools-" });
      path = `${dir}/${soname}`;
    }
    Deno.writeFileSync(path, bytes, { mode: 0o500 });
    return path;
  });
  return {
    paths,
    release() {
      for (const fd of fds) libc().close(fd); // the loader keeps its own mappings
      if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
    },
  };
}

function openEmbedded(): Deno.DynamicLibrary<typeof libbpfSymbols> {
  const files = libraryFiles(
    Object.entries(libraries).map(([soname, base64]) => [soname, Uint8Array.fromBase64(base64)]),
  );
  try {
    const last = files.paths.length - 1;
    for (const path of files.paths.slice(0, last)) dependencies.push(Deno.dlopen(path, {}));
    return Deno.dlopen(files.paths[last], libbpfSymbols);
  } finally {
    files.release();
  }
}

/** The libbpf in use, opened (with what it needs) on first call. */
export function libbpf(): Libbpf {
  if (opened === undefined) {
    const system = Deno.env.get("TCPTOOLS_LIBBPF");
    opened = system ? Deno.dlopen(system, libbpfSymbols) : openEmbedded();
    // libbpf's own messages would duplicate ours; TCPTOOLS_DEBUG keeps them.
    if (!Deno.env.get("TCPTOOLS_DEBUG")) defaultPrinter = opened.symbols.libbpf_set_print(null);
  }
  return opened.symbols;
}

/** Lets libbpf print its warnings and information on stderr again (-v). */
export function showLibbpfLog(): void {
  const lib = libbpf();
  if (defaultPrinter !== null) lib.libbpf_set_print(defaultPrinter);
}
