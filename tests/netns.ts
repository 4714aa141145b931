/**
 * A network namespace of the test's own (`ip netns`), with loopback up and
 * its own sysctls, so a test can exhaust ports or make connects time out
 * without touching the host's network.
 *
 * @module
 */

async function run(cmd: string, args: string[], input?: string): Promise<void> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

let created = 0;

/** A namespace that lives until disposed. */
export class NetworkNamespace {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates it, brings loopback up and sets each `sysctls` key (per-namespace ones). */
  static async create(sysctls: Record<string, string> = {}): Promise<NetworkNamespace> {
    const ns = new NetworkNamespace(`tt-${Deno.pid}-${created++}`);
    await run("ip", ["netns", "add", ns.name]);
    try {
      await run("ip", ["-n", ns.name, "link", "set", "lo", "up"]);
      for (const [key, value] of Object.entries(sysctls)) {
        await run("ip", ["netns", "exec", ns.name, "sysctl", "-q", "-w", `${key}=${value}`]);
      }
    } catch (error) {
      await ns[Symbol.asyncDispose]();
      throw error;
    }
    return ns;
  }

  /** Adds a route inside the namespace, e.g. ["10.9.9.2", "dev", "lo"]. */
  route(args: string[]): Promise<void> {
    return run("ip", ["-n", this.name, "route", "add", ...args]);
  }

  /** Runs `command` inside, with `input` on its stdin if given (e.g. an nft ruleset). */
  run(command: string[], input?: string): Promise<void> {
    return run("ip", ["netns", "exec", this.name, ...command], input);
  }

  /**
   * Names `address` as the namespace's DNS resolver: `ip netns exec` mounts
   * /etc/netns/<name>/resolv.conf over /etc/resolv.conf for what it runs.
   */
  useResolver(address: string): void {
    Deno.mkdirSync(this.#etc, { recursive: true });
    Deno.writeTextFileSync(`${this.#etc}/resolv.conf`, `nameserver ${address}\n`);
  }

  get #etc(): string {
    return `/etc/netns/${this.name}`;
  }

  /** A command prefix that runs the rest inside; ip(8) execs in place, so the PID stays. */
  get prefix(): string[] {
    return ["ip", "netns", "exec", this.name];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      Deno.removeSync(this.#etc, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await run("ip", ["netns", "del", this.name]);
  }
}
