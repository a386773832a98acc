/**
 * `WorkerPool`: kernels on a pool of module Web Workers.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { LocalPool } from "./local_pool.ts";
import { POOL_OPTIONS } from "./options.ts";
import { PoolCore } from "./_pool_core.ts";
import type { PoolOptions } from "./pool_types.ts";
import { workerLinks } from "./_worker_link.ts";

/**
 * A pool of module Web Workers that run kernels; its `run`, `map`, `stats`
 * and `close` are those of every `LocalPool`. Each worker imports a
 * kernel's module once. Inputs and results are structured-cloned, and
 * buffers listed in `transfer` move instead of being copied. Tasks go to
 * the least-loaded worker; when many wait, several inputs travel in one
 * message. A worker that dies (an error thrown outside a task, `close()`,
 * `Deno.exit()` or node's `process.exit()`) is replaced, and the task it
 * was running fails with `WorkerCrashError` (or runs again, with
 * `retries`); its other tasks run elsewhere. A kernel module that kills its
 * worker as it loads fails its tasks with a `TypeError` naming the module.
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
export class WorkerPool extends LocalPool {
  /**
   * Starts the workers.
   *
   * @param options `size`, `name`, `maxQueue`, `maxBatch`, `idleTimeout`.
   * @throws {RangeError} When a number is out of range.
   * @throws {TypeError} When an option is unknown or has the wrong type.
   */
  constructor(options?: PoolOptions) {
    super(
      new PoolCore(workerLinks, checkOptions("Cannot create WorkerPool", POOL_OPTIONS, options)),
    );
  }
}
