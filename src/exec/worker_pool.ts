/**
 * `WorkerPool`: kernels on a pool of module Web Workers.
 *
 * @module
 */

import type { Transfer } from "./transfer.ts";
import type { StageStream } from "../stream/types.ts";
import type { Kernel } from "./kernel.ts";
import { PoolCore } from "./_pool_core.ts";
import { checkOptions } from "../_internal/options.ts";
import { POOL_OPTIONS } from "./options.ts";
import { workerLinks } from "./_worker_link.ts";
import type { Pool, PoolMapOptions, PoolOptions, PoolStats, RunOptions } from "./pool_types.ts";

/**
 * Options of `new WorkerPool()`: those of every pool.
 *
 * @example A named pool: its name is in its errors
 * ```ts
 * import { kernel, WorkerPool, type WorkerPoolOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * const options: WorkerPoolOptions = { size: 1, name: "resize" };
 * await using pool = new WorkerPool(options);
 * assert.equal(await pool.run(square, 6), 36);
 * await pool.close();
 * await assert.rejects(pool.run(square, 6), /WorkerPool "resize" was closed/);
 * ```
 */
export type WorkerPoolOptions = PoolOptions;

/**
 * A pool of module Web Workers that run kernels. Each worker imports a
 * kernel's module once. Tasks go to the least-loaded worker; when many wait,
 * several inputs travel in one message. A worker that dies (an error thrown
 * outside a task, `close()`, `Deno.exit()` or node's `process.exit()`) is
 * replaced, and the task it was running fails with `WorkerCrashError` (or
 * runs again, with `retries`); its other tasks run elsewhere. A kernel
 * module that kills its worker as it loads fails its tasks with a
 * `TypeError` naming the module.
 *
 * @example Squares on two workers, as a stream
 * ```ts
 * import { kernel, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 2 });
 * assert.equal(await pool.run(square, 7), 49);
 * const out = ReadableStream.from([1, 2, 3]).pipeThrough(pool.map(square));
 * assert.deepEqual(await Array.fromAsync(out), [1, 4, 9]);
 * ```
 */
export class WorkerPool implements Pool {
  readonly #core: PoolCore;

  /**
   * Starts the workers.
   *
   * @param options `size`, `name`, `maxQueue`, `maxBatch`.
   * @throws {RangeError} When a number is out of range.
   * @throws {TypeError} When an option has the wrong type.
   */
  constructor(options?: WorkerPoolOptions) {
    this.#core = new PoolCore(
      workerLinks,
      checkOptions("Cannot create WorkerPool", POOL_OPTIONS, options),
    );
  }

  /** How many workers the pool keeps. */
  get size(): number {
    return this.#core.size;
  }

  /**
   * Runs `k` on `input` in a worker.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param input Its input (structured-cloned, or transferred with `transfer`).
   * @param options `transfer`, `signal`, `retries`.
   * @returns The kernel's result.
   * @throws {WorkerCrashError} When the worker died while running the task.
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
   * running its tasks.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param options `MapOptions`, plus `transfer` and `retries`.
   * @returns A `TransformStream` from inputs to results.
   * @throws {TypeError} When `k` is not a kernel or an option has the wrong type.
   * @throws {RangeError} When a number is out of range.
   */
  map<I, O>(k: Kernel<(input: I) => O>, options?: PoolMapOptions<I>): StageStream<I, Awaited<O>> {
    return this.#core.map(k, options);
  }

  /**
   * A snapshot of the pool's counters.
   *
   * @returns The pool's statistics, with one entry per worker.
   */
  stats(): PoolStats {
    return this.#core.stats();
  }

  /**
   * Stops every worker. Tasks not finished reject; later calls resolve at once.
   *
   * @returns When the workers are gone.
   */
  close(): Promise<void> {
    return this.#core.close();
  }

  /** Closes the pool. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#core.close();
  }
}
