import assert from "node:assert/strict";
import { BpfObject } from "./object.ts";

Deno.test("an attach error names the hook from the program's own section", () => {
  // accept --json also follows sockets at inet_sock_set_state: a hand-kept
  // list of hooks left it and the accept entries out, so its attach errors named the wrong hook.
  using accept = BpfObject.open("accept");
  const hooks = new Set(accept.programs().map((name) => accept.hookOf(name)));
  assert.deepEqual([...hooks].sort(), [
    "tp_btf/inet_sock_set_state",
    "tracepoint/syscalls/sys_enter_accept",
    "tracepoint/syscalls/sys_enter_accept4",
    "tracepoint/syscalls/sys_exit_accept",
    "tracepoint/syscalls/sys_exit_accept4",
  ]);
});
