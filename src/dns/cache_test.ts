import assert from "node:assert/strict";
import { DnsCache } from "./cache.ts";

Deno.test("QUERY is the name, with its age past 100 ms, or bcc's texts for a miss", () => {
  const cache = new DnsCache();
  cache.add("10.9.9.4", "www.tt.test", 1_000_000);
  assert.equal(cache.query("10.9.9.4", 1_000_000 + 100_000), "www.tt.test");
  assert.equal(cache.query("10.9.9.4", 1_000_000 + 123_342), "www.tt.test (123.342ms)");
  assert.equal(cache.query("10.9.9.5", 2_000_000), "No DNS Query");
  assert.equal(cache.query("127.0.0.1", 2_000_000), "localhost");
  assert.equal(cache.query("::1", 2_000_000), "localhost");
  // Older than a day: gone.
  assert.equal(cache.query("10.9.9.4", 1_000_000 + 86400_000_001), "No DNS Query");
});

Deno.test("the cache keeps the newest answers up to its bound", () => {
  const cache = new DnsCache(3);
  for (const [i, address] of ["a", "b", "c", "d"].entries()) cache.add(address, `n${i}`, i);
  assert.equal(cache.size, 3);
  assert.equal(cache.query("a", 10), "No DNS Query");
  cache.add("b", "again", 20); // b is now the newest: c goes next
  cache.add("e", "n4", 21);
  assert.equal(cache.query("c", 30), "No DNS Query");
  assert.equal(cache.query("b", 30), "again");
  assert.equal(cache.query("d", 30), "n3");
});
