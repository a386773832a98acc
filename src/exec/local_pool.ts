/**
 * `LocalPool`: what `WorkerPool` and `ProcessPool` share, the scheduling of
 * kernels on workers of this machine.
 *
 * @module
 */

import type { StageStream } from "../stream/types.ts";
import type { Kernel } from "./kernel.ts";
import type { PoolCore } from "./_pool_core.ts";
import type { Pool, PoolMapOptions, PoolStats, RunOptions } from "./pool_types.ts";
import type { Transfer } from "./transfer.ts";

/**
 * A pool of workers on this machine: the class `WorkerPool` (Web Workers)
 * and `ProcessPool` (`deno` child processes) extend, so that both schedule
 * alike. Tasks go to the least-loaded worker; when many wait, several
 * inputs travel in one message, sized by the kernel's measured time. A
 * worker that dies is replaced, and the task it was running fails with
 * `WorkerCrashError` (or runs again, with `retries`). Make one with
 * `new WorkerPool()` or `new ProcessPool()`; code that takes any pool,
 * including one on other machines, takes a `Pool`.
 *
 * @example Either pool, the same calls
 * ```ts
 * import { kernel, type LocalPool, ProcessPool, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * for (const pool of [new WorkerPool({ size: 1 }), new ProcessPool({ size: 1 })] as LocalPool[]) {
 *   await using _ = pool;
 *   assert.equal(await pool.run(square, 5), 25);
 *   const out = ReadableStream.from([1, 2]).pipeThrough(pool.map(square));
 *   assert.deepEqual(await Array.fromAsync(out), [1, 4]);
 *   assert.equal(pool.stats().tasksDone, 3);
 * }
 * ```
 */
export abstract class LocalPool implements Pool {
  readonly #core: PoolCore;

  /**
   * Wraps the scheduler of a pool; only `WorkerPool` and `ProcessPool` call it.
   *
   * @param core The scheduler, made with the pool's kind of worker and its checked options.
   */
  protected constructor(core: PoolCore) {
    this.#core = core;
  }

  /** How many workers the pool keeps: threads of a `WorkerPool`, children of a `ProcessPool`. */
  get size(): number {
    return this.#core.size;
  }

  /**
   * Runs `k` on `input` in a worker. A `WorkerPool` structured-clones the
   * input or transfers what `transfer` lists; a `ProcessPool` serializes
   * it (`transfer` is accepted and has no effect).
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param input Its input, or `transfer(input, list)` to move buffers with it.
   * @param options `transfer`, `signal`, `retries`.
   * @returns The kernel's result.
   * @throws {WorkerCrashError} When the worker died while running the task.
   * @throws {TypeError} When `k` is not a kernel or an option is unknown or has the wrong type.
   * @throws {RangeError} When a number is out of range.
   */
  run<I, O>(
    k: Kernel<(input: I) => O>,
    input: I | Transfer<I>,
    options?: RunOptions,
  ): Promise<Awaited<O>> {
    return this.#core.run(k, input, options);
  }

  /**
   * A stage that runs `k` on every chunk in the pool, in input order unless
   * `ordered: false`. Without `concurrency`, the stage keeps about four
   * batches per worker in flight, sized by the kernel's measured time: a
   * few items per worker for a slow kernel, up to `4 × maxBatch` per worker
   * for a tiny one. Set `concurrency` to bound memory for big items.
   * Cancelling the stream drops its queued tasks and replaces the workers
   * running its tasks (a `ProcessPool` kills those children).
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param options `MapOptions`, plus `transfer` and `retries`.
   * @returns A `TransformStream` from inputs to results.
   * @throws {TypeError} When `k` is not a kernel or an option is unknown or has the wrong type.
   * @throws {RangeError} When a number is out of range.
   */
  map<I, O>(k: Kernel<(input: I) => O>, options?: PoolMapOptions<I>): StageStream<I, Awaited<O>> {
    return this.#core.map(k, options);
  }

  /**
   * A snapshot of the pool's counters.
   *
   * @returns The pool's statistics, with one entry per worker (a child's
   *   entry has its `pid`).
   */
  stats(): PoolStats {
    return this.#core.stats();
  }

  /**
   * Stops every worker (a `ProcessPool` kills its children) and waits until
   * they are gone. Tasks not finished reject; later calls resolve once the
   * workers are gone.
   *
   * @returns When no worker is left.
   */
  close(): Promise<void> {
    return this.#core.close();
  }

  /**
   * Closes the pool.
   *
   * @returns When no worker is left.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#core.close();
  }
}
