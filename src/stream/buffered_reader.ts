/**
 * `BufferedReader`: the reading end of a fused chain, with a buffer of its
 * own: what a pipeline's sink is, and (reading nothing ahead) what a
 * `for await` over a conveyor stage is. Items are pushed into it by method call
 * while it has room, and a read takes one with a single promise (none made
 * when an item is waiting), so a pipeline read item by item costs about
 * what iterating its last stage does. It measures itself as a stage does
 * (StageMeter).
 *
 * @module
 */

import { Fifo } from "./_fifo.ts";
import { FusableReadable } from "./_fusable_readable.ts";
import type { Inlet, Outlet } from "./_port.ts";
import { StageMeter } from "./stage_meter.ts";
import type { StageStats } from "./types.ts";

/** What a reader tells its owner. */
export interface ReaderEnds<T> {
  /** The stream closed or failed (called once). */
  ended(): void;
  /** What a read gives once the stream failed with `reason`: a result, or it throws. */
  failed(reason: unknown): IteratorResult<T, undefined>;
}

type Waiter<T> = {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (reason: unknown) => void;
};

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Reads a conveyor stage's (or `source()`'s) readable with up to `size`
 * items read ahead.
 *
 * @example Two items read ahead of the reads
 * ```ts
 * import { BufferedReader } from "./buffered_reader.ts";
 * import { source } from "./source.ts";
 * import assert from "node:assert/strict";
 *
 * const reader = new BufferedReader(source([1, 2, 3]), 2, {
 *   ended: () => {},
 *   failed: (reason) => {
 *     throw reason;
 *   },
 * });
 * assert.deepEqual(await reader.next(), { value: 1, done: false });
 * assert.equal(reader.stats("sink").itemsIn, 3); // 2 and 3 read ahead
 * assert.deepEqual([(await reader.next()).value, (await reader.next()).value], [2, 3]);
 * assert.equal((await reader.next()).done, true);
 * ```
 */
export class BufferedReader<T> implements Inlet<T>, AsyncIterator<T, undefined> {
  readonly #size: number;
  readonly #ends: ReaderEnds<T>;
  readonly #buffer: Fifo<T>;
  readonly #meter = new StageMeter();
  #outlet: Outlet<T> | undefined;
  #lock: ReadableStreamDefaultReader<T> | undefined;
  #waiter: Waiter<T> | undefined;
  #state: "open" | "closed" | "errored" = "open";
  #error: unknown;
  #itemsIn = 0;
  #itemsOut = 0;

  /**
   * `readable`: a conveyor stage's or source's readable, not read yet (the
   * caller checks with `canRead`). `size`: items read ahead, at least 0.
   */
  constructor(readable: ReadableStream<T>, size: number, ends: ReaderEnds<T>) {
    this.#size = size;
    this.#ends = ends;
    this.#buffer = new Fifo<T>(size);
    const link = FusableReadable.connect(readable, this);
    if (link === undefined) throw new TypeError("BufferedReader: the stream cannot be linked");
    this.#outlet = link.outlet;
    this.#lock = link.reader;
    // Start reading ahead at once, as a stage would.
    if (size > 0) queueMicrotask(() => this.#outlet?.resume());
  }

  /** Whether `readable` can be read by a BufferedReader. */
  static canRead(readable: ReadableStream<unknown>): boolean {
    return readable instanceof FusableReadable && !readable.locked;
  }

  /** Whether a read is pending. */
  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  ready(): boolean {
    return this.#state === "open" &&
      (this.#waiter !== undefined || this.#buffer.size < this.#size);
  }

  push(value: T): void {
    this.#itemsIn++;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#itemsOut++;
      waiter.resolve({ value, done: false });
      return;
    }
    this.#meter.buffer(this.#buffer.push(value), this.#size);
  }

  close(): void {
    if (this.#state !== "open") return;
    this.#state = "closed";
    this.#unlock();
    this.#ends.ended();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(DONE);
  }

  error(reason: unknown): void {
    if (this.#state !== "open") return;
    this.#state = "errored";
    this.#error = reason;
    // What was read ahead is dropped, as a failed stream drops its queue.
    this.#buffer.clear();
    this.#meter.buffer(0, this.#size);
    this.#unlock();
    this.#ends.ended();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) this.#settleFailed(waiter);
  }

  /** The next item: at once when one was read ahead. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#buffer.size > 0) {
      const value = this.#buffer.shift();
      this.#itemsOut++;
      this.#meter.buffer(this.#buffer.size, this.#size);
      if (this.#state === "open") this.#outlet!.resume();
      return Promise.resolve({ value, done: false });
    }
    if (this.#state === "closed") return Promise.resolve(DONE);
    if (this.#waiter !== undefined) {
      return Promise.reject(new TypeError("Cannot call next() while a previous call is pending"));
    }
    return new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#state === "errored") return this.#settleFailed(waiter);
      this.#waiter = waiter;
      this.#outlet!.resume();
    });
  }

  /** Stops reading: upstream is cancelled with `reason`, and what was read ahead dropped. */
  return(reason?: unknown): Promise<IteratorResult<T, undefined>> {
    if (this.#state === "open") {
      this.#state = "closed";
      this.#buffer.clear();
      this.#meter.buffer(0, this.#size);
      this.#unlock();
      this.#outlet!.cancel(reason);
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.resolve(DONE);
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The reader's statistics, as a stage's: `name` is the stage's. */
  stats(name: string): StageStats {
    return this.#meter.report({
      name,
      itemsIn: this.#itemsIn,
      itemsOut: this.#itemsOut,
      failures: 0,
      inFlight: 0,
      concurrency: 1,
      buffered: this.#buffer.size,
    });
  }

  #settleFailed(waiter: Waiter<T>): void {
    try {
      waiter.resolve(this.#ends.failed(this.#error));
    } catch (error) {
      waiter.reject(error);
    }
  }

  #unlock(): void {
    this.#lock?.releaseLock();
    this.#lock = undefined;
  }
}
