import assert from "node:assert/strict";
import { ValueError } from "../cli/parser.ts";
import { listenAddress } from "./listen_address.ts";

Deno.test("a port alone listens on 127.0.0.1 only", () => {
  assert.deepEqual(listenAddress("9100"), { hostname: "127.0.0.1", port: 9100 });
});

Deno.test("an IPv4 address or a bracketed IPv6 one is taken as given", () => {
  assert.deepEqual(listenAddress("0.0.0.0:9100"), { hostname: "0.0.0.0", port: 9100 });
  assert.deepEqual(listenAddress("[::1]:80"), { hostname: "::1", port: 80 });
  assert.deepEqual(listenAddress("[::]:65535"), { hostname: "::", port: 65535 });
});

Deno.test("bad ports, host names and unbracketed IPv6 are value errors", () => {
  for (
    const bad of [
      "",
      "0",
      "65536",
      "x",
      ":9100",
      "localhost:9100",
      "::1:9100",
      "1.2.3.4:",
      "256.1.1.1:80",
      "[1.2.3.4]:80",
      "[]:80",
      "9100 ",
    ]
  ) {
    assert.throws(() => listenAddress(bad), ValueError, bad);
  }
});
