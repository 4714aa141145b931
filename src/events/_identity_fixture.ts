/**
 * For the decoder and format tests: the identity of one thread and its socket
 * (bpf/identity.bpf.h), which every tool's event carries alike, written once
 * in each of its three forms: the members of the C record, the decoded
 * {@linkcode Identity}, and the JSON fields that end every tool's object.
 *
 * @module
 */
import type { Identity } from "./identity.ts";

/** The identity members of a C event record for thread `tid` (for cStruct). */
export function identityMembers(tid: number) {
  return { cookie: 77n, cgroup_id: 4242n, tid, netns: 4026531840, mntns: 4026531841, uid: 1000 };
}

/** What a decoder gives for {@linkcode identityMembers}. */
export function identityOfTid(tid: number): Identity {
  return { uid: 1000, tid, cgroupId: 4242, netns: 4026531840, mntns: 4026531841, cookie: 77 };
}

/** The JSON fields a tool prints for {@linkcode identityOfTid}. */
export function identityJson(tid: number) {
  return { uid: 1000, tid, cgroup_id: 4242, netns: 4026531840, mntns: 4026531841, cookie: 77 };
}
