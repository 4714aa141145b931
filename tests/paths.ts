/**
 * Path helpers for the tests (node:path and node:url stand in for @std/path,
 * which lives on JSR).
 *
 * @module
 */
export { dirname, join } from "node:path";
export { fileURLToPath as fromFileUrl } from "node:url";
