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
  const btf = btfPath();
  try {
    Deno.statSync(btf);
  } catch {
    throw new EnvironmentError(
      `no kernel BTF at ${btf}: needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, ` +
        "or TCPTOOLS_BTF set to this kernel's BTF file",
    );
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
