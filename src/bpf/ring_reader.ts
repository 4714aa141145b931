/**
 * Reads a BPF ring buffer without ever blocking the event loop: the wait for
 * data is an epoll_wait on a worker thread (a non-blocking FFI call), the
 * draining runs on the main thread and hands each record to a synchronous
 * callback as a DataView over a copy of it (valid only during the call).
 * `interrupt()` (and `close()`) wake a pending wait, which then resolves;
 * `close()` is safe to call twice.
 *
 * @module
 */
import { libbpf } from "../ffi/embedded_libbpf.ts";
import { errno, libc } from "../ffi/libc.ts";
import { sampleCallbackDefinition } from "../ffi/libbpf.ts";
import { BpfError } from "./errors.ts";

const EPOLL_CLOEXEC = 0x80000;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 0x1;
const EFD_CLOEXEC = 0x80000;
const EFD_NONBLOCK = 0x800;
const EINTR = 4;
const EPOLL_EVENT_SIZE = 12; // struct epoll_event is packed on x86-64
/** An empty sigset_t (1024 bits). */
const NO_SIGNALS = new Uint8Array(128);

/** Receives one record; must not keep the view after returning. */
export type RecordHandler = (record: DataView) => void;

/** A ring buffer map being read. */
export class RingReader {
  #ring: Deno.PointerObject | null;
  #callback: Deno.UnsafeCallback<typeof sampleCallbackDefinition> | null;
  #epoll = -1;
  #wake = -1;
  #events = new Uint8Array(EPOLL_EVENT_SIZE * 2);
  #scratch = new Uint8Array(256);
  #failure: unknown = undefined;
  #interrupted = false;
  #closed = false;

  /** Starts reading the ring buffer map behind `mapFd`; records go to `onRecord`. */
  constructor(mapFd: number, onRecord: RecordHandler) {
    this.#callback = new Deno.UnsafeCallback(sampleCallbackDefinition, (_ctx, data, size) => {
      // An exception must not unwind through libbpf: keep it and stop draining.
      try {
        onRecord(this.#copy(data!, Number(size)));
        return 0;
      } catch (error) {
        this.#failure = error;
        return -1;
      }
    });
    this.#ring = libbpf().ring_buffer__new(mapFd, this.#callback.pointer, null, null);
    if (this.#ring === null) {
      const code = errno();
      this.close();
      throw new BpfError("open ring buffer", code);
    }
    try {
      this.#epoll = this.#checked("create epoll", libc().epoll_create1(EPOLL_CLOEXEC));
      this.#wake = this.#checked("create eventfd", libc().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      this.#watch(libbpf().ring_buffer__epoll_fd(this.#ring));
      this.#watch(this.#wake);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * The record copied into a reused buffer. Records are a few dozen bytes:
   * copying is cheaper than wrapping each one in an ArrayBuffer of its own,
   * whose external backing store only the garbage collector frees (under a
   * flood that is tens of thousands of them a second).
   */
  #copy(data: Deno.PointerObject, size: number): DataView {
    if (size > this.#scratch.byteLength) this.#scratch = new Uint8Array(size);
    Deno.UnsafePointerView.copyInto(data, this.#scratch.subarray(0, size));
    return new DataView(this.#scratch.buffer, 0, size);
  }

  #checked(operation: string, rc: number): number {
    if (rc < 0) throw new BpfError(operation, errno());
    return rc;
  }

  #watch(fd: number): void {
    const event = new Uint8Array(EPOLL_EVENT_SIZE);
    new DataView(event.buffer).setUint32(0, EPOLLIN, true);
    this.#checked("watch ring buffer", libc().epoll_ctl(this.#epoll, EPOLL_CTL_ADD, fd, event));
  }

  /**
   * Waits until records may be ready, `interrupt()` is called, or
   * `timeoutMs` passes. Resolves to false once interrupted.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.#interrupted) return false;
    // The worker thread may have the stop signals blocked (the launcher's mask,
    // see src/cli/stop_signals.ts): while it waits, it takes any signal.
    const rc = await libc().epoll_pwait(this.#epoll, this.#events, 2, timeoutMs, NO_SIGNALS);
    // The wait ran on a worker thread, whose errno is out of reach from here.
    // With our own valid descriptors and buffer, -1 there means a signal or a
    // stop (SIGSTOP, then SIGCONT) interrupted it (epoll waits are never
    // restarted): ask again without waiting, on this thread, where a real
    // failure shows with its errno.
    if (rc < 0 && !this.#interrupted) this.#poll();
    return !this.#interrupted;
  }

  /** epoll_wait without a timeout on this thread; throws what a failure's errno says. */
  #poll(): void {
    for (;;) {
      if (libc().epoll_wait(this.#epoll, this.#events, 2, 0) >= 0) return;
      const code = errno();
      if (code !== EINTR) throw new BpfError("wait for ring buffer", code);
    }
  }

  /** True once `interrupt()` (or `close()`) was called. */
  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** Makes a pending and every later `wait()` resolve to false at once. */
  interrupt(): void {
    if (this.#interrupted || this.#wake < 0) return;
    this.#interrupted = true;
    libc().write(this.#wake, new BigUint64Array([1n]), 8n);
  }

  /** Hands every record that is ready to the handler; returns how many. */
  drain(): number {
    if (this.#ring === null) return 0;
    const n = libbpf().ring_buffer__consume(this.#ring);
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      throw failure;
    }
    if (n < 0) throw new BpfError("read ring buffer", -n);
    return n;
  }

  /** Interrupts a pending `wait()` and frees everything. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.interrupt();
    this.#closed = true;
    const c = libc();
    // A wait still running on a worker thread holds its own reference to the
    // epoll file, so closing the descriptors here is safe; the eventfd write
    // above makes that wait return at once.
    if (this.#epoll >= 0) c.close(this.#epoll);
    if (this.#wake >= 0) c.close(this.#wake);
    if (this.#ring !== null) {
      libbpf().ring_buffer__free(this.#ring);
      this.#ring = null;
    }
    this.#callback?.close();
    this.#callback = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
