import assert from "node:assert/strict";
import { DnsCache } from "./cache.ts";

const HOST = { netns: 4026531840, uid: 1000 };

Deno.test("QUERY is the name, with its age past 100 ms, or bcc's texts for a miss", () => {
  const cache = new DnsCache();
  cache.add(HOST, "10.9.9.4", "www.tt.test", 1_000_000);
  assert.equal(cache.query(HOST, "10.9.9.4", 1_000_000 + 100_000), "www.tt.test");
  assert.equal(cache.query(HOST, "10.9.9.4", 1_000_000 + 123_342), "www.tt.test (123.342ms)");
  assert.equal(cache.query(HOST, "10.9.9.5", 2_000_000), "No DNS Query");
  assert.equal(cache.query(HOST, "127.0.0.1", 2_000_000), "localhost");
  assert.equal(cache.query(HOST, "::1", 2_000_000), "localhost");
  // Older than a day: gone.
  assert.equal(cache.query(HOST, "10.9.9.4", 1_000_000 + 86400_000_001), "No DNS Query");
});

Deno.test("an answer names connects of its receiver's user in its namespace; root's, anyone's there", () => {
  const cache = new DnsCache();
  cache.add(HOST, "10.9.9.4", "user.tt.test", 10);
  const otherUser = { ...HOST, uid: 1001 };
  const root = { ...HOST, uid: 0 };
  const otherNetns = { ...HOST, netns: HOST.netns + 1 };
  assert.equal(cache.query(otherUser, "10.9.9.4", 20), "No DNS Query");
  assert.equal(cache.query(root, "10.9.9.4", 20), "No DNS Query");
  assert.equal(cache.query(otherNetns, "10.9.9.4", 20), "No DNS Query");
  cache.add(root, "10.9.9.5", "root.tt.test", 30);
  assert.equal(cache.query(otherUser, "10.9.9.5", 40), "root.tt.test");
  assert.equal(cache.query({ ...otherNetns, uid: 0 }, "10.9.9.5", 40), "No DNS Query");
  // The user's own answer and root's: the newer.
  cache.add(root, "10.9.9.4", "root-later.tt.test", 50);
  assert.equal(cache.query(HOST, "10.9.9.4", 60), "root-later.tt.test");
  cache.add(HOST, "10.9.9.4", "user-later.tt.test", 70);
  assert.equal(cache.query(HOST, "10.9.9.4", 80), "user-later.tt.test");
});

Deno.test("the cache keeps the newest answers up to its bound", () => {
  const cache = new DnsCache(3);
  for (const [i, address] of ["a", "b", "c", "d"].entries()) cache.add(HOST, address, `n${i}`, i);
  assert.equal(cache.size, 3);
  assert.equal(cache.query(HOST, "a", 10), "No DNS Query");
  cache.add(HOST, "b", "again", 20); // b is now the newest: c goes next
  cache.add(HOST, "e", "n4", 21);
  assert.equal(cache.query(HOST, "c", 30), "No DNS Query");
  assert.equal(cache.query(HOST, "b", 30), "again");
  assert.equal(cache.query(HOST, "d", 30), "n3");
});

Deno.test("no user's answers push out root's", () => {
  const cache = new DnsCache(3);
  const root = { ...HOST, uid: 0 };
  cache.add(root, "r", "root.tt.test", 1);
  for (let i = 0; i < 10; i++) cache.add(HOST, `u${i}`, `n${i}`, 2 + i);
  assert.equal(cache.size, 4);
  assert.equal(cache.query(HOST, "r", 20), "root.tt.test");
  assert.equal(cache.query(HOST, "u9", 20), "n9");
});
