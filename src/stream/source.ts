/**
 * `source`: a readable stream over an iterable that fuses with conveyor
 * stages.
 *
 * @module
 */

import { FusableReadable } from "./_fusable_readable.ts";
import type { Inlet, Outlet } from "./_port.ts";
import { show } from "../_internal/validate.ts";
import { afterTurn, nextTurn, turnDue } from "../_internal/turns.ts";

// Feeds a fused consumer straight from the iterator: a sync iterator is read
// in a loop while the consumer is ready, an async one a step at a time. Now
// and then it lets the event loop turn (see _internal/turns.ts): what it
// feeds may never leave the microtask queue otherwise.
class Pump<T> implements Outlet<T> {
  #iterator: Iterator<T> | AsyncIterator<T>;
  #sync: boolean;
  #inlet: Inlet<T> | undefined;
  #running = false;
  #done = false;
  // Cancels the pending resume after a turn of the event loop, if any.
  #waiting: (() => void) | undefined;

  constructor(iterator: Iterator<T> | AsyncIterator<T>, sync: boolean) {
    this.#iterator = iterator;
    this.#sync = sync;
  }

  connect(inlet: Inlet<T>): void {
    this.#inlet = inlet;
    queueMicrotask(() => this.resume());
  }

  resume(): void {
    if (this.#running || this.#done || this.#waiting !== undefined) return;
    const inlet = this.#inlet!;
    if (!this.#sync) return turnDue() ? this.#afterTurn() : this.#step(inlet);
    this.#running = true;
    const iterator = this.#iterator as Iterator<T>;
    try {
      while (!this.#done && inlet.ready()) {
        if (turnDue()) return this.#afterTurn();
        let result;
        try {
          result = iterator.next();
        } catch (error) {
          this.#done = true;
          return inlet.error(error);
        }
        if (result.done) {
          this.#done = true;
          return inlet.close();
        }
        inlet.push(result.value);
      }
    } finally {
      this.#running = false;
    }
  }

  cancel(reason: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#waiting?.();
    this.#waiting = undefined;
    try {
      const result = this.#iterator.return?.(reason);
      if (result instanceof Promise) result.catch(() => {});
    } catch {
      // The iterator's own cleanup failed; the consumer is gone already.
    }
  }

  #afterTurn(): void {
    this.#waiting = afterTurn(() => {
      this.#waiting = undefined;
      this.resume();
    });
  }

  #step(inlet: Inlet<T>): void {
    if (!inlet.ready()) return;
    this.#running = true;
    let next;
    try {
      next = (this.#iterator as AsyncIterator<T>).next();
    } catch (error) {
      this.#done = true;
      return inlet.error(error);
    }
    Promise.resolve(next).then((result) => {
      this.#running = false;
      if (this.#done) return;
      if (result.done) {
        this.#done = true;
        return inlet.close();
      }
      inlet.push(result.value);
      this.resume();
    }, (error) => {
      this.#running = false;
      if (this.#done) return;
      this.#done = true;
      inlet.error(error);
    });
  }
}

/**
 * A `ReadableStream` over an iterable or async iterable (a `ReadableStream`
 * is returned as it is). Like `ReadableStream.from`, but when piped straight
 * into a conveyor stage the stage reads the iterator itself, without a
 * stream in between: the cheapest way to feed a pipeline from memory or a
 * generator. Cancelling the stream calls the iterator's `return`, so a
 * generator's `finally` runs. It lets the event loop turn every 10 ms of
 * reading, so that timers and abort signals fire even while a sync source
 * feeds stages that never wait.
 *
 * @typeParam T The item type.
 * @param input An iterable, an async iterable or a `ReadableStream`.
 * @returns A readable stream of the items.
 * @throws {TypeError} When `input` is none of those.
 *
 * @example Feed a pipeline from a generator
 * ```ts
 * import { map, source } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * function* numbers() {
 *   for (let i = 0; i < 5; i++) yield i;
 * }
 * const out = source(numbers()).pipeThrough(map(async (x: number) => x * x, { concurrency: 2 }));
 * assert.deepEqual(await Array.fromAsync(out), [0, 1, 4, 9, 16]);
 * ```
 */
export function source<T>(
  input: Iterable<T> | AsyncIterable<T> | ReadableStream<T>,
): ReadableStream<T> {
  if (input instanceof ReadableStream) return input;
  let iterator: Iterator<T> | AsyncIterator<T>;
  let sync: boolean;
  if (
    input !== null &&
    (typeof input === "object" || typeof input === "string") &&
    Symbol.asyncIterator in Object(input)
  ) {
    iterator = (input as AsyncIterable<T>)[Symbol.asyncIterator]();
    sync = false;
  } else if (
    input !== null && input !== undefined && Symbol.iterator in Object(input)
  ) {
    iterator = (input as Iterable<T>)[Symbol.iterator]();
    sync = true;
  } else {
    throw new TypeError(
      `Cannot create source: input must be an iterable, an async iterable or a ReadableStream, got ${
        show(input)
      }`,
    );
  }
  let started = false;
  const pump = new Pump<T>(iterator, sync);
  return new FusableReadable<T>(
    {
      async pull(controller) {
        started = true;
        if (turnDue()) await nextTurn();
        const result = await iterator.next();
        if (result.done) controller.close();
        else controller.enqueue(result.value);
      },
      cancel(reason) {
        pump.cancel(reason);
      },
    },
    { highWaterMark: 0 },
    {
      canFuse: () => !started,
      fuse: () => {
        started = true;
        return pump;
      },
    },
  );
}
