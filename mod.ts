/**
 * tcptools: TCP connection tracing with eBPF, from kernel tracepoints alone (its
 * tools: src/tools/registry.ts).
 *
 * @module
 */
import { main } from "./src/main.ts";

export { main };

if (import.meta.main) Deno.exit(await main(Deno.args));
