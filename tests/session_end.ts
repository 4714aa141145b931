/**
 * Drives one end of a TCP session (tests/session_end.c) step by step: each
 * command is a line on its stdin, answered by one JSON line.
 *
 * @module
 */
import { compileC, until } from "./harness.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
let binary: string | undefined;

/** One running tt-end process. */
export class SessionEnd {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #text = "";
  #read: Promise<void>;
  #answered = 0;
  /** The process's own report: {"pid"} and, for a listener, {"port"}. */
  started: Record<string, number> = {};

  private constructor(args: string[], netns?: string) {
    binary ??= compileC("session_end.c", "tt-end");
    // `ip netns exec` execs in place: the PID stays the end's own.
    const [cmd, argv] = netns ? ["ip", ["netns", "exec", netns, binary, ...args]] : [binary, args];
    this.#child = new Deno.Command(cmd, {
      args: argv,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    const stdout = this.#child.stdout;
    this.#read = (async () => {
      for await (const chunk of stdout) this.#text += decoder.decode(chunk, { stream: true });
    })();
  }

  /** A listener on `host` named `comm`. */
  static listen(comm: string, host: string, netns?: string): Promise<SessionEnd> {
    return new SessionEnd([comm, "listen", host], netns).#ready();
  }

  /** A client of `host`:`port` named `comm`; it connects on the "connect" command. */
  static client(comm: string, host: string, port: number, netns?: string): Promise<SessionEnd> {
    return new SessionEnd([comm, "connect", host, String(port)], netns).#ready();
  }

  async #ready(): Promise<SessionEnd> {
    this.started = await this.#next();
    return this;
  }

  get pid(): number {
    return this.started.pid;
  }

  get port(): number {
    return this.started.port;
  }

  async #next(): Promise<Record<string, number>> {
    const n = ++this.#answered;
    await until(
      `answer ${n} of tt-end ${this.#child.pid}`,
      () => this.#text.split("\n").length > n,
    );
    return JSON.parse(this.#text.split("\n")[n - 1]);
  }

  /** Runs one command; throws if the end reports an error. */
  async do(command: string): Promise<Record<string, number>> {
    await this.#stdin.write(encoder.encode(command + "\n"));
    const answer = await this.#next();
    if ("error" in answer) throw new Error(`tt-end ${command}: errno ${answer.error}`);
    return answer;
  }

  /** Ends the process (end of its stdin) and waits for it. */
  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
    await this.#read;
  }
}
