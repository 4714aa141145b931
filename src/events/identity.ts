/**
 * Who an event belongs to beyond PID and COMM (bpf/identity.bpf.h), for the
 * JSON formats: the task's thread, user, cgroup and mount namespace, and the
 * socket's network namespace and cookie.
 *
 * @module
 */

/** The identity of an event; null where the kernel could not know it. */
export interface Identity {
  /** Real UID of the task; null for a socket no process owned. */
  uid: number | null;
  /** Its thread id. */
  tid: number | null;
  /** Its cgroup v2 id: the inode number of the cgroup's directory. */
  cgroupId: number | null;
  /** Inode number of the socket's network namespace (stat of /proc/PID/ns/net). */
  netns: number;
  /** Inode number of the task's mount namespace; null also for an exiting task. */
  mntns: number | null;
  /** The socket's cookie, the same in every tool's events for one socket; null if none was generated. */
  cookie: number | null;
}

/** The identity fields of a generated record. */
export interface IdentityRecord {
  uid: number;
  tid: number;
  cgroup_id: number;
  netns: number;
  mntns: number;
  cookie: number;
}

/** The identity of a record; `hasTask` false: no task was seen (its fields are null). */
export function identityOf(r: IdentityRecord, hasTask: boolean): Identity {
  return {
    uid: hasTask ? r.uid : null,
    tid: hasTask ? r.tid : null,
    cgroupId: hasTask ? r.cgroup_id : null,
    netns: r.netns,
    mntns: hasTask && r.mntns !== 0 ? r.mntns : null,
    cookie: r.cookie || null,
  };
}

/** The JSON fields of an identity, in the order every tool uses. */
export function identityFields(e: { identity: Identity }): Record<string, number | null> {
  return {
    uid: e.identity.uid,
    tid: e.identity.tid,
    cgroup_id: e.identity.cgroupId,
    netns: e.identity.netns,
    mntns: e.identity.mntns,
    cookie: e.identity.cookie,
  };
}
