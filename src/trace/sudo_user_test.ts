import assert from "node:assert/strict";
import { EnvironmentError } from "./environment.ts";
import { sudoUser, userEnvironment } from "./sudo_user.ts";

const user = {
  uid: 1501,
  gid: 1501,
  groups: [1501, 27],
  name: "alice",
  home: "/home/alice",
  shell: "/bin/bash",
};

Deno.test("the user's environment keeps what sudo's env_reset keeps and sets the rest from passwd", () => {
  assert.deepEqual(
    userEnvironment({
      HOME: "/root",
      USER: "root",
      SHELL: "/bin/zsh",
      TERM: "xterm",
      PATH: "/usr/bin:/bin",
      LANG: "C.UTF-8",
      LC_TIME: "C",
      LD_PRELOAD: "/root/evil.so",
      SSH_AUTH_SOCK: "/tmp/ssh-root/agent",
      SUDO_UID: "1501",
      TCPTOOLS_COMMAND_ENV_FD: "3",
    }, user),
    {
      TERM: "xterm",
      PATH: "/usr/bin:/bin",
      LANG: "C.UTF-8",
      LC_TIME: "C",
      HOME: "/home/alice",
      SHELL: "/bin/bash",
      USER: "alice",
      LOGNAME: "alice",
      MAIL: "/var/mail/alice",
    },
  );
});

Deno.test({
  name: "sudo ids that are not canonical, 0 for a user, or of nobody known are refused",
  ignore: Deno.uid() !== 0,
  fn() {
    for (
      const [uid, gid] of [
        ["00", "1"],
        ["-1", "1"],
        ["+1", "1"],
        ["1e3", "1"],
        ["4294967295", "1"],
        ["1", "0"],
        ["1", ""],
        ["1", "01"],
        ["4242421", "1"],
      ]
    ) {
      assert.throws(
        () => sudoUser({ SUDO_UID: uid, SUDO_GID: gid }),
        EnvironmentError,
        `${uid}:${gid}`,
      );
    }
    assert.equal(sudoUser({}), undefined, "not under sudo");
    assert.equal(sudoUser({ SUDO_UID: "0", SUDO_GID: "0" }), undefined, "root ran sudo");
    const daemon = sudoUser({ SUDO_UID: "1", SUDO_GID: "1", SUDO_USER: "root" })!;
    assert.equal(daemon.uid, 1);
    assert.notEqual(daemon.name, "root", "SUDO_USER is not trusted");
  },
});
