/**
 * The user command mode drops to under sudo: SUDO_UID and SUDO_GID, checked
 * (they are only environment variables, which `sudo -E` or a caller passes
 * as given), and the environment sudo itself would give that user.
 *
 * @module
 */
import { cString, libc } from "../ffi/libc.ts";
import { EnvironmentError } from "./environment.ts";

/** A user CMD runs as: ids, groups and passwd entry. */
export interface SudoUser {
  uid: number;
  gid: number;
  /** Supplementary groups, as initgroups(3) would set them. */
  groups: number[];
  name: string;
  home: string;
  shell: string;
}

/** A canonical decimal id that is not 0 and below 2^32-1 (the kernel's "unchanged"). */
function userId(variable: string, value: string | undefined): number {
  if (value === undefined || !/^[1-9][0-9]{0,9}$/.test(value) || Number(value) >= 0xffffffff) {
    throw new EnvironmentError(
      `command mode: ${variable}=${JSON.stringify(value ?? "")} is not the id of a user ` +
        `(a decimal number from 1 to 4294967294)`,
    );
  }
  return Number(value);
}

/** The passwd entry of uid (struct passwd on x86-64: name, passwd, uid, gid, gecos, dir, shell). */
function passwdEntry(uid: number): { name: string; home: string; shell: string } | undefined {
  const entry = libc().getpwuid(uid);
  if (entry === null) return;
  const view = new Deno.UnsafePointerView(entry);
  const text = (offset: number) => {
    const pointer = view.getPointer(offset);
    return pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer);
  };
  return { name: text(0), home: text(32), shell: text(40) };
}

function groupList(name: string, gid: number): number[] {
  let size = 64;
  for (let attempt = 0; attempt < 8; attempt++, size *= 4) {
    const groups = new Uint32Array(size);
    const count = new Int32Array([size]);
    if (
      libc().getgrouplist(
        cString(name),
        gid,
        new Uint8Array(groups.buffer),
        new Uint8Array(count.buffer),
      ) >= 0
    ) {
      return [...groups.subarray(0, count[0])];
    }
  }
  throw new EnvironmentError(`command mode: cannot list the groups of ${name}`);
}

/**
 * The user that ran sudo, if tcptools runs as root under sudo: undefined
 * when not (no SUDO_UID) or when root itself ran sudo (SUDO_UID=0). An id
 * that is not canonical, 0 for a user, or of no user is refused, never
 * guessed at; SUDO_USER is not trusted (the name is the uid's).
 */
export function sudoUser(environment: Record<string, string>): SudoUser | undefined {
  if (Deno.uid() !== 0 || environment.SUDO_UID === undefined) return;
  if (environment.SUDO_UID === "0") return;
  const uid = userId("SUDO_UID", environment.SUDO_UID);
  const gid = userId("SUDO_GID", environment.SUDO_GID);
  const entry = passwdEntry(uid);
  if (entry === undefined) {
    throw new EnvironmentError(`command mode: SUDO_UID=${uid} is not the id of any user`);
  }
  return { uid, gid, groups: groupList(entry.name, gid).filter((g) => g !== 0), ...entry };
}

/**
 * What sudo's env_reset keeps of the invoking environment (sudoers(5):
 * env_keep and env_check defaults, as `sudo -V` lists them); the rest is set
 * from the user's passwd entry, as sudo sets it.
 */
const KEPT = new Set([
  "TERM",
  "PATH",
  "DISPLAY",
  "XAUTHORITY",
  "XAUTHORIZATION",
  "XDG_CURRENT_DESKTOP",
  "COLORTERM",
  "COLORS",
  "LS_COLORS",
  "DPKG_COLORS",
  "KRB5CCNAME",
  "HOSTNAME",
  "PS1",
  "PS2",
  "TZ",
  "LANG",
  "LANGUAGE",
  "LINGUAS",
]);

/** The environment sudo would give the user: none of root's variables cross. */
export function userEnvironment(
  start: Record<string, string>,
  user: SudoUser,
): Record<string, string> {
  const kept = Object.entries(start).filter(([name]) => KEPT.has(name) || name.startsWith("LC_"));
  return {
    ...Object.fromEntries(kept),
    HOME: user.home,
    SHELL: user.shell,
    USER: user.name,
    LOGNAME: user.name,
    MAIL: `/var/mail/${user.name}`,
  };
}
