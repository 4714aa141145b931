/**
 * `deno task test:kernels`: dist/tcptools on a second kernel. Boots Debian
 * 12's own kernel package (6.1) under qemu with an initramfs that holds only
 * busybox, the glibc the Deno runtime links against, and dist/tcptools; its
 * init runs all four tools while busybox nc makes a loopback connection, and
 * prints what they printed. CO-RE relocation happens against that kernel's
 * BTF. Not part of CI (it downloads a 70 MB kernel package and needs
 * `apt-get install qemu-system-x86 busybox-static cpio`).
 *
 * Usage: deno task test:kernels [--package linux-image-6.1.0-47-amd64-unsigned]   (as root)
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TOOLS } from "../src/tools/registry.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: { package: { type: "string", default: "linux-image-6.1.0-47-amd64-unsigned" } },
});
const CACHE = "/var/cache/tcptools/kernels";
const decoder = new TextDecoder();

function run(cmd: string, args: string[], cwd?: string): string {
  const out = new Deno.Command(cmd, { args, cwd }).outputSync();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** The kernel image of the package, downloaded and unpacked once. */
function kernel(): string {
  const dir = join(CACHE, values.package!);
  const boot = join(dir, "boot");
  try {
    const image = [...Deno.readDirSync(boot)].find((e) => e.name.startsWith("vmlinuz-"));
    if (image) return join(boot, image.name);
  } catch { /* not unpacked yet */ }
  Deno.mkdirSync(dir, { recursive: true });
  run("apt-get", ["download", values.package!], dir);
  const deb = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".deb"))!;
  run("dpkg-deb", ["-x", join(dir, deb.name), dir]);
  return kernel();
}

const NAMES = TOOLS.map((tool) => tool.name).join(" ");

/** The init script: every tool traces one busybox nc connection. */
const INIT = `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ip link set lo up
echo "== kernel $(uname -r), BTF: $(ls /sys/kernel/btf/vmlinux)"
for tool in ${NAMES}; do
  /tcptools $tool > /out.$tool 2>&1 &
done
for tool in ${NAMES}; do
  i=0; until grep -q PID /out.$tool || [ $i -ge 600 ]; do sleep 0.1; i=$((i+1)); done
done
nc -l -p 9000 > /dev/null &
sleep 0.5
echo hello | nc 127.0.0.1 9000
sleep 1
killall -INT tcptools 2>/dev/null; kill -INT $(pidof tcptools) 2>/dev/null
sleep 2
for tool in ${NAMES}; do echo "== tcptools $tool"; cat /out.$tool; done
echo "== end"
poweroff -f
`;

function initramfs(dir: string): string {
  const tree = join(dir, "root");
  for (const d of ["bin", "proc", "sys", "dev", "lib64", "lib/x86_64-linux-gnu"]) {
    Deno.mkdirSync(join(tree, d), { recursive: true });
  }
  Deno.copyFileSync("/bin/busybox", join(tree, "bin/busybox"));
  for (const applet of ["sh", "mount", "ip", "nc", "sleep", "cat", "grep", "ls", "uname", "echo"]) {
    Deno.symlinkSync("busybox", join(tree, "bin", applet));
  }
  for (const applet of ["kill", "killall", "pidof", "poweroff"]) {
    Deno.symlinkSync("busybox", join(tree, "bin", applet));
  }
  // The glibc the Deno runtime needs (`ldd` of it), nothing else.
  for (const line of run("ldd", [Deno.realPathSync(Deno.execPath())]).split("\n")) {
    const path = /(\/\S+) \(0x/.exec(line)?.[1];
    if (!path) continue;
    const name = path.split("/").pop()!;
    const target = name.startsWith("ld-linux")
      ? join(tree, "lib64", name)
      : join(tree, "lib/x86_64-linux-gnu", name);
    Deno.copyFileSync(Deno.realPathSync(path), target);
  }
  Deno.copyFileSync(join(root, "dist", "tcptools"), join(tree, "tcptools"));
  Deno.writeTextFileSync(join(tree, "init"), INIT, { mode: 0o755 });
  Deno.chmodSync(join(tree, "tcptools"), 0o755);
  const image = join(dir, "initramfs.cpio");
  run("sh", ["-c", `cd "${tree}" && find . | cpio -o -H newc > "${image}" 2>/dev/null`]);
  return image;
}

for (const needed of ["/usr/bin/qemu-system-x86_64", "/bin/busybox", "/usr/bin/cpio"]) {
  try {
    Deno.statSync(needed);
  } catch {
    console.error(
      `test:kernels: ${needed} is missing: apt-get install qemu-system-x86 busybox-static cpio`,
    );
    Deno.exit(1);
  }
}

const dir = Deno.makeTempDirSync({ prefix: "tcptools-kernels-" });
try {
  const image = kernel();
  const initrd = initramfs(dir);
  // Software emulation (TCG): nested KVM on the development VM hangs this
  // kernel right after the firmware, and TCG boots it in a few seconds.
  const cpu = ["-cpu", "max"];
  console.log(`booting ${image} under qemu (TCG)`);
  const out = new Deno.Command("qemu-system-x86_64", {
    args: [
      ...cpu,
      "-m",
      "1024",
      "-smp",
      "2",
      "-kernel",
      image,
      "-initrd",
      initrd,
      "-append",
      "console=ttyS0 quiet panic=-1 rdinit=/init",
      "-nographic",
      "-no-reboot",
    ],
    stdin: "null",
  }).outputSync();
  const console_ = decoder.decode(out.stdout).replaceAll("\r", "");
  const report = console_.slice(console_.indexOf("== kernel"), console_.indexOf("== end"));
  console.log(report || console_.slice(-3000) + decoder.decode(out.stderr).slice(-2000));
  const ok = TOOLS.every(({ name: tool }) => {
    const section = report.split(`== tcptools ${tool}\n`)[1]?.split("\n== ")[0] ?? "";
    return section.split("\n").some((l) => / 9000( |$)/.test(l));
  });
  console.log(ok ? "every tool traced the connection" : "FAILED: a tool did not trace it");
  if (!ok) Deno.exitCode = 1;
} finally {
  Deno.removeSync(dir, { recursive: true });
}
