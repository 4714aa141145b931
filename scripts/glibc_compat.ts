/**
 * Lets the embedded libraries load on glibc 2.28 and later, not only on the
 * build machine's 2.36. Of everything embedded, only libelf asks for more
 * than 2.28, and for one symbol: fstat@GLIBC_2.33 (libbpf needs
 * fcntl64@GLIBC_2.28, the Deno runtime 2.27). This rewrites three fields of
 * a copy of libelf.so.1:
 *
 * - fstat's entry in .gnu.version becomes 1 (unversioned), so any exported
 *   fstat satisfies it;
 * - the GLIBC_2.33 requirement in .gnu.version_r is marked weak, so an older
 *   libc without that version is no error;
 * - the DT_NEEDED entry for libz.so.1 names "z.so.1" instead (a suffix of the
 *   same string, as no bytes can be added): the shim built from
 *   glibc_compat/fstat.c, which defines fstat and needs the real libz.so.1.
 *
 * Each step checks that the library is the shape it expects and throws
 * otherwise, so a different libelf fails the build instead of the user.
 *
 * @module
 */

/** The soname of the shim, and the name libelf's DT_NEEDED is pointed at. */
export const SHIM_SONAME = "z.so.1";

/** The oldest glibc the embedded libraries may require (RHEL 8's). */
const OLDEST_GLIBC = [2, 28];

const DT_NULL = 0n;
const DT_NEEDED = 1n;
const VER_FLG_WEAK = 0x2;
const VERSYM_GLOBAL = 1;

interface Section {
  offset: number;
  size: number;
  entsize: number;
}

/** The sections of a 64-bit little-endian ELF file, by name. */
function sections(elf: Uint8Array): Map<string, Section> {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (view.getUint32(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) {
    throw new Error("not a 64-bit little-endian ELF file");
  }
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: view.getUint32(at, true),
      offset: Number(view.getBigUint64(at + 24, true)),
      size: Number(view.getBigUint64(at + 32, true)),
      entsize: Number(view.getBigUint64(at + 56, true)),
    };
  };
  const names = header(view.getUint16(0x3e, true));
  const found = new Map<string, Section>();
  for (let i = 0; i < shnum; i++) {
    const { name, ...section } = header(i);
    found.set(cString(elf, names.offset + name), section);
  }
  return found;
}

function cString(elf: Uint8Array, at: number): string {
  return new TextDecoder().decode(elf.subarray(at, elf.indexOf(0, at)));
}

interface VersionNeed {
  /** e.g. "GLIBC_2.33". */
  name: string;
  weak: boolean;
  /** Its index, as .gnu.version entries name it. */
  index: number;
  /** File offset of its flags (Elf64_Vernaux.vna_flags). */
  flagsAt: number;
}

/** Every version the library requires of the libraries it needs (.gnu.version_r). */
function* versionNeeds(elf: Uint8Array, found: Map<string, Section>): Generator<VersionNeed> {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const dynstr = found.get(".dynstr");
  const verneed = found.get(".gnu.version_r");
  if (dynstr === undefined || verneed === undefined) return;
  // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
  // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
  for (let need = verneed.offset, next = 1; next !== 0; need += next) {
    next = view.getUint32(need + 12, true);
    let aux = need + view.getUint32(need + 8, true);
    for (let n = view.getUint16(need + 2, true); n > 0; n--) {
      yield {
        name: cString(elf, dynstr.offset + view.getUint32(aux + 8, true)),
        weak: (view.getUint16(aux + 4, true) & VER_FLG_WEAK) !== 0,
        index: view.getUint16(aux + 6, true),
        flagsAt: aux + 4,
      };
      aux += view.getUint32(aux + 12, true);
    }
  }
}

/** Returns a copy of Debian 12's libelf.so.1 that loads on glibc 2.28+ (see above). */
export function patchLibelf(original: Uint8Array): Uint8Array {
  const elf = original.slice();
  const view = new DataView(elf.buffer);
  const found = sections(elf);
  const section = (name: string) => {
    const s = found.get(name);
    if (s === undefined) throw new Error(`libelf has no ${name} section`);
    return s;
  };
  const dynstr = section(".dynstr");
  const name = (offset: number) => cString(elf, dynstr.offset + offset);

  // The GLIBC_2.33 requirement, made weak.
  const glibc233 = [...versionNeeds(elf, found)].find((need) => need.name === "GLIBC_2.33");
  if (glibc233 === undefined) throw new Error("libelf does not require GLIBC_2.33");
  view.setUint16(glibc233.flagsAt, view.getUint16(glibc233.flagsAt, true) | VER_FLG_WEAK, true);

  // The symbols that need it: fstat alone, made unversioned.
  const dynsym = section(".dynsym");
  const versym = section(".gnu.version");
  const needing: string[] = [];
  for (let i = 0; i < dynsym.size / dynsym.entsize; i++) {
    const at = versym.offset + 2 * i;
    if ((view.getUint16(at, true) & 0x7fff) !== glibc233.index) continue;
    needing.push(name(view.getUint32(dynsym.offset + i * dynsym.entsize, true)));
    view.setUint16(at, VERSYM_GLOBAL, true);
  }
  if (needing.join() !== "fstat") {
    throw new Error(`libelf needs GLIBC_2.33 for ${needing.join(", ")}, not for fstat alone`);
  }

  // DT_NEEDED libz.so.1 -> z.so.1, the shim: the same string, 3 bytes in.
  const dynamic = section(".dynamic");
  let redirected = false;
  for (let at = dynamic.offset; at < dynamic.offset + dynamic.size; at += 16) {
    const tag = view.getBigInt64(at, true);
    if (tag === DT_NULL) break;
    const value = Number(view.getBigUint64(at + 8, true));
    if (tag !== DT_NEEDED || name(value) !== "libz.so.1") continue;
    const suffix = value + "libz.so.1".length - SHIM_SONAME.length;
    if (name(suffix) !== SHIM_SONAME) throw new Error("the shim's name must end libz.so.1");
    view.setBigUint64(at + 8, BigInt(suffix), true);
    redirected = true;
  }
  if (!redirected) throw new Error("libelf has no DT_NEEDED libz.so.1 to redirect");
  return elf;
}

/**
 * Throws unless `library` loads on {@linkcode OLDEST_GLIBC}: no version it
 * requires of glibc (weak requirements aside) may be newer.
 */
export function checkOldestGlibc(soname: string, library: Uint8Array): void {
  for (const need of versionNeeds(library, sections(library))) {
    const m = need.name.match(/^GLIBC_(\d+)\.(\d+)$/);
    if (need.weak || m === null) continue;
    const [major, minor] = [Number(m[1]), Number(m[2])];
    if ((major - OLDEST_GLIBC[0] || minor - OLDEST_GLIBC[1]) > 0) {
      throw new Error(
        `${soname} requires glibc ${major}.${minor}, newer than ${OLDEST_GLIBC.join(".")}: ` +
          "extend scripts/glibc_compat.ts or build on an older distribution",
      );
    }
  }
}
