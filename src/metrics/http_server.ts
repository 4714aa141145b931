/**
 * The metrics endpoint: a small HTTP/1.1 server that answers `GET /metrics`
 * (and `GET /`) and nothing else, and that a client cannot use to hold
 * memory or the tracer.
 *
 * It is a raw TCP listener with its own request parser rather than
 * Deno.serve, because Deno.serve has no bound on the time a client may take
 * to send its request head, nor on the head's size short of its own large
 * default: here each connection reads at most MAX_REQUEST_BYTES, has
 * CONNECTION_DEADLINE_MS to send its request and take the answer (then it is
 * closed), and at most MAX_CONNECTIONS are open at once: a new one closes
 * the oldest that has not yet sent its request (so idle clients, however
 * fast they reconnect, cannot keep a scraper out: it is answered as soon as
 * its head arrives). Each answer closes its connection (`Connection:
 * close`), so no client keeps one. Rendering reads the BPF maps
 * synchronously: a scrape waits for nothing, and nothing waits for a scrape.
 *
 * accept() failing for want of a descriptor or of memory, or for a client
 * gone before it was accepted, is transient: the oldest waiting connection
 * is closed to free a descriptor and accepting goes on after a pause; any
 * other failure ends the server with AcceptError (`failed`).
 *
 * @module
 */
import { OPENMETRICS_TEXT, PROMETHEUS_TEXT, wantsOpenMetrics } from "../output/exposition.ts";
import type { ListenAddress } from "./listen_address.ts";

/** The largest request head read; a longer one is answered 431. */
export const MAX_REQUEST_BYTES = 8192;
/** How long a connection may take to send its request and receive the answer. */
export const CONNECTION_DEADLINE_MS = 5000;
/** Connections served at once; a scraper needs one for well under a second. */
export const MAX_CONNECTIONS = 128;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const END_OF_HEAD = /\r?\n\r?\n/;

/** accept()'s errno values that pass: no descriptor or memory now, or the client left. */
const TRANSIENT_ACCEPT_ERRORS = new Set([
  "EMFILE",
  "ENFILE",
  "ENOBUFS",
  "ENOMEM",
  "ECONNABORTED",
  "ECONNRESET",
  "EPROTO",
  "EPERM", // a firewall refused the connection
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
/** The pause after a transient accept() failure, doubled while they repeat, up to the most. */
const ACCEPT_BACKOFF_MS = 10;
const ACCEPT_BACKOFF_MAX_MS = 1000;

/** accept() failed in a way that will not pass: the endpoint stopped. */
export class AcceptError extends Error {}

/** The errno name of a Deno system error ("EMFILE"), from its code or its "(os error N)". */
function errnoName(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  const number = /\(os error (\d+)\)/.exec(error.message)?.[1];
  return number ? ERRNO_NAMES[Number(number)] : undefined;
}

/** Linux x86-64 errno numbers of TRANSIENT_ACCEPT_ERRORS. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  12: "ENOMEM",
  23: "ENFILE",
  24: "EMFILE",
  71: "EPROTO",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  113: "EHOSTUNREACH",
};

/** What the endpoint answers `GET /metrics` with. */
export type Render = (openMetrics: boolean) => string;

/** An answer, before it is serialized. */
export interface Response {
  status: string;
  type?: string;
  body: string;
  extra?: string[];
}

/** The answer to one request head. */
export function respond(head: string, render: Render): Response {
  const lines = head.split(/\r?\n/);
  const request = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!request) return { status: "400 Bad Request", body: "bad request\n" };
  const [, method, target] = request;
  const path = target.split("?")[0];
  if (path !== "/metrics" && path !== "/") return { status: "404 Not Found", body: "not found\n" };
  if (method !== "GET") {
    return { status: "405 Method Not Allowed", body: "only GET\n", extra: ["Allow: GET"] };
  }
  if (path === "/") {
    return {
      status: "200 OK",
      type: "text/plain; charset=utf-8",
      body: "tcptools: see /metrics\n",
    };
  }
  const accept = lines.slice(1).find((line) => /^accept:/i.test(line))?.slice("accept:".length);
  const openMetrics = wantsOpenMetrics(accept);
  return {
    status: "200 OK",
    type: openMetrics ? OPENMETRICS_TEXT : PROMETHEUS_TEXT,
    body: render(openMetrics),
  };
}

function serialize(response: Response): Uint8Array {
  const body = encoder.encode(response.body);
  const head = [
    `HTTP/1.1 ${response.status}`,
    `Content-Type: ${response.type ?? "text/plain; charset=utf-8"}`,
    `Content-Length: ${body.byteLength}`,
    "Connection: close",
    ...(response.extra ?? []),
    "",
    "",
  ].join("\r\n");
  const bytes = new Uint8Array(head.length + body.byteLength);
  bytes.set(encoder.encode(head));
  bytes.set(body, head.length);
  return bytes;
}

/** Reads a request head; undefined if the client ended first, "too large" past the limit. */
async function readHead(conn: Deno.Conn): Promise<string | "too large" | undefined> {
  const buffer = new Uint8Array(MAX_REQUEST_BYTES);
  let used = 0;
  while (used < buffer.byteLength) {
    const n = await conn.read(buffer.subarray(used));
    if (n === null) return undefined;
    used += n;
    const text = decoder.decode(buffer.subarray(0, used));
    const end = END_OF_HEAD.exec(text);
    if (end) return text.slice(0, end.index);
  }
  return "too large";
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength;) done += await conn.write(bytes.subarray(done));
}

/** The endpoint, listening until closed. */
export class MetricsServer {
  readonly #listener: Deno.TcpListener;
  /** Each open connection, oldest first, and whether its request head has arrived. */
  readonly #open = new Map<Deno.Conn, { answering: boolean }>();
  readonly #render: Render;
  readonly #served: Promise<void>;
  #closing = false;
  #fail!: (error: AcceptError) => void;
  /** Rejects with AcceptError if accept() fails for good; never resolves. */
  readonly failed: Promise<never> = new Promise((_, reject) => this.#fail = reject);

  private constructor(listener: Deno.TcpListener, render: Render) {
    this.#listener = listener;
    this.#render = render;
    this.#served = this.#acceptLoop();
  }

  /** Listens on `address`; throws Deno's error (e.g. AddrInUse) if it cannot. */
  static listen(address: ListenAddress, render: Render): MetricsServer {
    return new MetricsServer(Deno.listen({ ...address, transport: "tcp" }), render);
  }

  /** The port listened on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  async #acceptLoop(): Promise<void> {
    this.failed.catch(() => {}); // the owner may not be listening for it
    let backoff = ACCEPT_BACKOFF_MS;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing) return;
        const name = errnoName(error);
        if (name === undefined || !TRANSIENT_ACCEPT_ERRORS.has(name)) {
          const why = error instanceof Error ? error.message : String(error);
          this.#fail(new AcceptError(`accept: ${why.replace(/ \(os error \d+\).*$/s, "")}`));
          return;
        }
        if (name === "EMFILE" || name === "ENFILE") this.#evictWaiting();
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(2 * backoff, ACCEPT_BACKOFF_MAX_MS);
        continue;
      }
      backoff = ACCEPT_BACKOFF_MS;
      if (this.#open.size >= MAX_CONNECTIONS && !this.#evictWaiting()) {
        conn.close(); // every one is being answered, which takes well under a second
        continue;
      }
      this.#serve(conn);
    }
  }

  /** Closes the oldest connection whose request has not arrived; false if there is none. */
  #evictWaiting(): boolean {
    for (const [conn, state] of this.#open) {
      if (state.answering) continue;
      this.#open.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      return true;
    }
    return false;
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const state = { answering: false };
    this.#open.set(conn, state);
    const close = () => {
      if (!this.#open.delete(conn)) return;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    };
    // Closing the connection ends a pending read or write with an error.
    const deadline = setTimeout(close, CONNECTION_DEADLINE_MS);
    try {
      const head = await readHead(conn);
      if (head === undefined) return;
      state.answering = true;
      const response = head === "too large"
        ? { status: "431 Request Header Fields Too Large", body: "request too large\n" }
        : respond(head, this.#render);
      await writeAll(conn, serialize(response));
    } catch {
      // The client went away, or its deadline passed.
    } finally {
      clearTimeout(deadline);
      close();
    }
  }

  /** Stops listening and closes every connection. Safe to call twice. */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const conn of [...this.#open.keys()]) {
      this.#open.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.#served;
  }
}
