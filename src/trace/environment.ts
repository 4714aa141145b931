/**
 * Checks that this host can trace, before anything is loaded, so that each
 * missing piece gets its own one-line explanation instead of a libbpf errno.
 *
 * @module
 */

/** The host cannot run the tracer (privileges, BTF, kernel support): exit status 1. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** The BTF file CO-RE relocates against; TCPTOOLS_BTF overrides the kernel's own. */
export function btfPath(): string {
  return Deno.env.get("TCPTOOLS_BTF") || "/sys/kernel/btf/vmlinux";
}

/** Effective capabilities of this process, from /proc/self/status. */
function effectiveCapabilities(): bigint {
  const status = Deno.readTextFileSync("/proc/self/status");
  const line = status.split("\n").find((l) => l.startsWith("CapEff:"));
  return line ? BigInt("0x" + line.slice("CapEff:".length).trim()) : 0n;
}

function has(caps: bigint, cap: bigint): boolean {
  return (caps >> cap & 1n) === 1n;
}

function capabilities(): bigint {
  try {
    return effectiveCapabilities();
  } catch {
    throw new EnvironmentError("cannot read /proc/self/status: is /proc mounted?");
  }
}

/** Throws an EnvironmentError naming the first thing that prevents tracing. */
export function checkEnvironment(): void {
  const caps = capabilities();
  if (!has(caps, CAP_SYS_ADMIN) && !(has(caps, CAP_BPF) && has(caps, CAP_PERFMON))) {
    throw new EnvironmentError(
      "needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) to load BPF programs: run it with sudo",
    );
  }
  checkBtf(btfPath());
}

/** Raw BTF starts with 0xeB9F (little-endian u16); libbpf also takes an ELF with a .BTF section. */
const BTF_MAGIC = [0x9f, 0xeb];
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/**
 * Throws unless `btf` is a regular file that starts like BTF or ELF: libbpf
 * would block forever opening a FIFO, and report an empty or foreign file as
 * an unrelated errno (EIO, ESRCH, 4001) at load.
 */
function checkBtf(btf: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(btf);
  } catch {
    throw new EnvironmentError(
      `no kernel BTF at ${btf}: needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, ` +
        "or TCPTOOLS_BTF set to this kernel's BTF file",
    );
  }
  const notBtf = (why: string) =>
    new EnvironmentError(
      `${btf} is not a BTF file (${why}): set TCPTOOLS_BTF to this kernel's BTF`,
    );
  if (!info.isFile) throw notBtf("not a regular file");
  const start = new Uint8Array(4);
  let read: number | null;
  try {
    using file = Deno.openSync(btf);
    read = file.readSync(start);
  } catch (error) {
    throw new EnvironmentError(`cannot read ${btf}: ${(error as Error).message}`);
  }
  const startsWith = (magic: number[]) => magic.every((byte, i) => start[i] === byte);
  if (!read) throw notBtf("empty");
  if (!startsWith(BTF_MAGIC) && !(read === 4 && startsWith(ELF_MAGIC))) {
    throw notBtf("no BTF or ELF header");
  }
}

/**
 * For a tool that attaches a cgroup program (sock_ops), which the kernel
 * loads only with CAP_NET_ADMIN (or CAP_SYS_ADMIN).
 */
export function checkNetAdmin(): void {
  const caps = capabilities();
  if (!has(caps, CAP_SYS_ADMIN) && !has(caps, CAP_NET_ADMIN)) {
    throw new EnvironmentError(
      "needs CAP_NET_ADMIN too (or CAP_SYS_ADMIN) to load its sock_ops program: run it with sudo",
    );
  }
}
