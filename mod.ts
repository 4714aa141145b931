/**
 * tcptools: TCP connection tracing with eBPF (accept, connect, connlat, life).
 *
 * @module
 */
import { main } from "./src/main.ts";

export { main };

if (import.meta.main) Deno.exit(await main(Deno.args));
