/**
 * Reads a BPF ring buffer map without ever blocking the event loop and
 * without a foreign call per record. The map's pages are mapped into this
 * process once, as libbpf maps them (kernel/bpf/ringbuf.c): a writable page
 * holding the consumer position, then, read-only, a page holding the
 * producer position and the data area mapped twice in a row, so that no
 * record wraps. Draining walks the records in JavaScript, hands each to a
 * synchronous callback as a DataView straight over the mapped memory (valid
 * only during the call), and publishes the new consumer position. The wait
 * for data is an epoll_wait either on a worker thread (a non-blocking FFI
 * call: the event loop runs meanwhile) or on the calling thread (cheaper by
 * far, see `waitHere`). `interrupt()` (and `close()`) wake a pending
 * asynchronous wait, which then resolves; `close()` is safe to call twice.
 *
 * @module
 */
import { EPOLL_EVENT, Errno, errno, libc, SIGSET } from "../ffi/libc.ts";
import { BpfError } from "./errors.ts";

const EPOLL_CLOEXEC = 0x80000;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 0x1;
const EPOLLET = 0x80000000;
const EFD_CLOEXEC = 0x80000;
const EFD_NONBLOCK = 0x800;
const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x1;
const MAP_FAILED = 0xffffffffffffffffn;
const SC_PAGESIZE = 30;
// include/uapi/linux/bpf.h: each record starts with its length and page offset.
const BPF_RINGBUF_BUSY_BIT = 0x80000000;
const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
const BPF_RINGBUF_HDR_SZ = 8;
/** An empty sigset_t. */
const NO_SIGNALS = new Uint8Array(SIGSET.size);

/**
 * How a wait ended: the kernel woke the reader, the time-out passed,
 * `interrupt()` was called, or (`waitHere` only) a signal came to this thread.
 */
export type WaitResult = "woken" | "timeout" | "interrupted" | "signalled";

/** Receives one record; must not keep the view after returning. */
export type RecordHandler = (record: DataView) => void;

/** A memory mapping this reader owns. */
interface Mapping {
  pointer: Deno.PointerObject;
  bytes: number;
  buffer: ArrayBuffer;
}

/** A ring buffer map being read. */
export class RingReader {
  #onRecord: RecordHandler;
  #size: number;
  #consumerMap: Mapping | null = null;
  #producerMap: Mapping | null = null;
  /** consumer_pos and producer_pos, as 64-bit words (read and written atomically). */
  #consumerPos!: BigUint64Array;
  #producerPos!: BigUint64Array;
  /** Where the data area starts in the producer mapping (one page in). */
  #dataStart = 0;
  /** The producer mapping as 32-bit words, for reading record headers atomically. */
  #words!: Uint32Array;
  #epoll = -1;
  #wake = -1;
  #events = new Uint8Array(EPOLL_EVENT.size * 2);
  #interrupted = false;
  #closed = false;

  /**
   * Starts reading the ring buffer map behind `mapFd`, whose data area is
   * `size` bytes (its max_entries: a power of two, a multiple of the page
   * size); records go to `onRecord`.
   */
  constructor(mapFd: number, size: number, onRecord: RecordHandler) {
    this.#onRecord = onRecord;
    this.#size = size;
    try {
      const page = Number(libc().sysconf(SC_PAGESIZE));
      this.#consumerMap = this.#mmap(mapFd, page, PROT_READ | PROT_WRITE, 0);
      this.#producerMap = this.#mmap(mapFd, page + 2 * size, PROT_READ, page);
      this.#consumerPos = new BigUint64Array(this.#consumerMap.buffer, 0, 1);
      this.#producerPos = new BigUint64Array(this.#producerMap.buffer, 0, 1);
      this.#dataStart = page;
      this.#words = new Uint32Array(this.#producerMap.buffer);
      this.#epoll = this.#checked("create epoll", libc().epoll_create1(EPOLL_CLOEXEC));
      this.#wake = this.#checked("create eventfd", libc().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      // Edge-triggered on the map itself: a wait returns for a new wake-up
      // from the kernel, not for records that are merely still there.
      this.#watch(mapFd, EPOLLIN | EPOLLET);
      this.#watch(this.#wake, EPOLLIN);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #mmap(fd: number, bytes: number, protection: number, offset: number): Mapping {
    const address = libc().mmap(null, BigInt(bytes), protection, MAP_SHARED, fd, BigInt(offset));
    if (address === null || BigInt(Deno.UnsafePointer.value(address)) === MAP_FAILED) {
      throw new BpfError("map ring buffer", errno());
    }
    return {
      pointer: address,
      bytes,
      buffer: Deno.UnsafePointerView.getArrayBuffer(address, bytes),
    };
  }

  #checked(operation: string, rc: number): number {
    if (rc < 0) throw new BpfError(operation, errno());
    return rc;
  }

  #watch(fd: number, events: number): void {
    const event = new Uint8Array(EPOLL_EVENT.size);
    new DataView(event.buffer).setUint32(EPOLL_EVENT.events, events, true);
    this.#checked("watch ring buffer", libc().epoll_ctl(this.#epoll, EPOLL_CTL_ADD, fd, event));
  }

  /**
   * Waits until the kernel wakes the reader (the first record after a drain,
   * or a buffer filling up: see submit_event in bpf/common.bpf.h),
   * `interrupt()` is called, or `timeoutMs` passes (-1: no limit).
   */
  async wait(timeoutMs: number): Promise<Exclude<WaitResult, "signalled">> {
    if (this.#interrupted) return "interrupted";
    // The worker thread may have the stop signals blocked (the launcher's mask,
    // see src/trace/stop_signals.ts): while it waits, it takes any signal.
    const rc = await libc().epoll_pwait(this.#epoll, this.#events, 2, timeoutMs, NO_SIGNALS);
    // The wait ran on a worker thread, whose errno is out of reach from here.
    // With our own valid descriptors and buffer, -1 there means a signal or a
    // stop (SIGSTOP, then SIGCONT) interrupted it (epoll waits are never
    // restarted): ask again without waiting, on this thread, where a real
    // failure shows with its errno; then the caller waits again.
    if (rc < 0 && !this.#interrupted) return this.#poll() > 0 ? "woken" : "timeout";
    if (this.#interrupted) return "interrupted";
    return rc > 0 ? "woken" : "timeout";
  }

  /**
   * As `wait()`, but on the calling thread, which it blocks: no event-loop
   * turn and no hand-over to a worker thread, which cost several times the
   * wait itself (ARCHITECTURE.md, "Why the reader waits on its own thread"). A
   * signal delivered to this thread meanwhile ends it ("signalled"); its
   * listener runs at the next turn of the event loop.
   */
  waitHere(timeoutMs: number): WaitResult {
    if (this.#interrupted) return "interrupted";
    const rc = libc().epoll_pwait_here(this.#epoll, this.#events, 2, timeoutMs, NO_SIGNALS);
    if (rc < 0) {
      const code = errno();
      if (code === Errno.EINTR) return "signalled";
      throw new BpfError("wait for ring buffer", code);
    }
    return rc > 0 ? "woken" : "timeout";
  }

  /**
   * epoll_wait without a timeout on this thread; returns how many descriptors
   * are ready, throws what a failure's errno says.
   */
  #poll(): number {
    for (;;) {
      const rc = libc().epoll_wait(this.#epoll, this.#events, 2, 0);
      if (rc >= 0) return rc;
      const code = errno();
      if (code !== Errno.EINTR) throw new BpfError("wait for ring buffer", code);
    }
  }

  /** True once `interrupt()` (or `close()`) was called. */
  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** Makes a pending and every later `wait()` resolve to "interrupted" at once. */
  interrupt(): void {
    if (this.#interrupted || this.#wake < 0) return;
    this.#interrupted = true;
    libc().write(this.#wake, new BigUint64Array([1n]), 8n);
  }

  /**
   * Hands every record that is ready to the handler; returns how many. As
   * libbpf's ring_buffer__consume: stop at a record still being written
   * (its producer commits it later and, finding the consumer there, wakes
   * us), skip discarded ones, and publish the consumer position after each
   * record, so that a handler's exception loses nothing already handled.
   */
  drain(): number {
    if (this.#closed) return 0;
    const mask = this.#size - 1;
    const buffer = this.#producerMap!.buffer;
    let consumer = Number(Atomics.load(this.#consumerPos, 0));
    let count = 0;
    for (;;) {
      const producer = Number(Atomics.load(this.#producerPos, 0));
      if (consumer >= producer) return count;
      const start = consumer;
      while (consumer < producer) {
        const header = this.#dataStart + (consumer & mask);
        const word = Atomics.load(this.#words, header / 4);
        if (word & BPF_RINGBUF_BUSY_BIT) break;
        const length = word & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
        consumer += (length + BPF_RINGBUF_HDR_SZ + 7) & ~7;
        if (!(word & BPF_RINGBUF_DISCARD_BIT)) {
          try {
            this.#onRecord(new DataView(buffer, header + BPF_RINGBUF_HDR_SZ, length));
          } finally {
            Atomics.store(this.#consumerPos, 0, BigInt(consumer));
          }
          count++;
        } else {
          Atomics.store(this.#consumerPos, 0, BigInt(consumer));
        }
      }
      if (consumer === start) return count; // the first record is still being written
    }
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
    for (const mapping of [this.#producerMap, this.#consumerMap]) {
      if (mapping) c.munmap(mapping.pointer, BigInt(mapping.bytes));
    }
    this.#producerMap = this.#consumerMap = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
