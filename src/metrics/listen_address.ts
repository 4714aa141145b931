/**
 * The value of `--listen [ADDR:]PORT`: an IP address literal (IPv6 in
 * brackets) and a port. Without an address only loopback listens: a port
 * reachable from other hosts is opened only when its address is given.
 *
 * @module
 */
import { ValueError } from "../cli/parser.ts";

/** Where the metrics endpoint listens. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

export const DEFAULT_LISTEN_HOST = "127.0.0.1";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// An IPv6 literal: hex groups and colons (with an optional dotted IPv4 tail),
// checked again by the kernel when the socket is bound.
const IPV6 = /^[0-9a-fA-F:]+(:(\d{1,3}\.){3}\d{1,3})?$/;

/** Value type of --listen. */
export function listenAddress(value: string): ListenAddress {
  const m = /^(?:(\[[^\]]*\]|[^:[\]]*):)?([0-9]+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new ValueError(
      `invalid listen address: '${value}' (expected [ADDR:]PORT, e.g. 9100, 0.0.0.0:9100, [::1]:9100)`,
    );
  }
  if (m[1] === undefined) return { hostname: DEFAULT_LISTEN_HOST, port };
  const bracketed = m[1].startsWith("[");
  const hostname = bracketed ? m[1].slice(1, -1) : m[1];
  if (bracketed ? !(IPV6.test(hostname) && hostname.includes(":")) : !IPV4.test(hostname)) {
    throw new ValueError(
      `invalid listen address: '${value}' (ADDR is an IPv4 address or an IPv6 one in brackets)`,
    );
  }
  return { hostname, port };
}
