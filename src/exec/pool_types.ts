/**
 * The types the pools share: their options, their statistics, and `Pool`,
 * the surface of `WorkerPool` and `ProcessPool`.
 *
 * @module
 */

import type { Transfer } from "./transfer.ts";
import type { MapOptions, StageStream } from "../stream/types.ts";
import type { Kernel } from "./kernel.ts";

/**
 * Options every pool takes (`new WorkerPool()`, `new ProcessPool()`).
 *
 * @example Two workers, named, with a bounded queue
 * ```ts
 * import { kernel, type PoolOptions, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * const options: PoolOptions = { size: 2, name: "squares", maxQueue: 64, maxBatch: 8 };
 * await using pool = new WorkerPool(options);
 * assert.equal(await pool.run(square, 3), 9);
 * assert.equal(pool.stats().name, "squares");
 * assert.equal(pool.stats().size, 2);
 * assert.throws(() => new WorkerPool({ size: 0 }), RangeError);
 * assert.throws(() => new WorkerPool({ size: 1e9 }), /size must be a positive integer up to 1024/);
 * ```
 */
export interface PoolOptions {
  /**
   * How many workers: a positive integer, at most 1024 (each worker is a thread or a process;
   * beyond that a pool is a mistake, and a RangeError).
   *
   * @default {navigator.hardwareConcurrency}
   */
  size?: number;
  /**
   * The pool's name, used in workers' names and in errors.
   *
   * @default {"conveyor"}
   */
  name?: string;
  /**
   * How many tasks may wait for a worker; `run` waits for room beyond that.
   *
   * @default {1024 × size}
   */
  maxQueue?: number;
  /**
   * The most inputs sent to a worker in one message when the queue is long.
   *
   * @default {64}
   */
  maxBatch?: number;
  /**
   * Milliseconds a pool with nothing to do keeps its workers; then they stop, and start again with
   * the next task (loading the kernel modules again). So a program that forgets `close()` still
   * exits, this long after its last task, and an idle pool holds no threads or processes. Raise it
   * for work that comes in bursts far apart; `Infinity` keeps the workers. A finite value above
   * 2^31 - 1 ms (what a timer can hold) is a `RangeError`.
   *
   * @default {5000}
   */
  idleTimeout?: number;
}

/**
 * Options of `pool.run()`.
 *
 * @example Moving the input, and giving up on a task
 * ```ts
 * import { kernel, type RunOptions, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const sum = kernel<(values: Float64Array) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "sum",
 * );
 * await using pool = new WorkerPool({ size: 1 });
 * const values = new Float64Array([1, 2, 3]);
 * const options: RunOptions = { transfer: [values.buffer], retries: 1 };
 * assert.equal(await pool.run(sum, values, options), 6);
 * assert.equal(values.byteLength, 0); // the buffer moved to the worker
 * const signal = AbortSignal.abort(new Error("no longer needed"));
 * await assert.rejects(pool.run(sum, new Float64Array(1), { signal }), /no longer needed/);
 * ```
 */
export interface RunOptions {
  /** Objects to transfer with the input instead of copying (detached here afterwards). */
  transfer?: Transferable[];
  /**
   * Aborting it rejects the task with the reason: a queued task is dropped, a running one's worker
   * is replaced.
   */
  signal?: AbortSignal;
  /**
   * How many times a task whose worker died is run again before it fails with `WorkerCrashError`.
   *
   * @default {0}
   */
  retries?: number;
}

/**
 * Options of `pool.map()`: `MapOptions` plus what `run` takes per item.
 *
 * @typeParam I The stage's input type.
 *
 * @example Each input's buffer moved to a worker
 * ```ts
 * import { kernel, type PoolMapOptions, transferables, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const sum = kernel<(values: Float64Array) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "sum",
 * );
 * await using pool = new WorkerPool({ size: 2 });
 * const inputs = [new Float64Array([1, 2]), new Float64Array([3, 4])];
 * const options: PoolMapOptions<Float64Array> = { concurrency: 2, transfer: transferables };
 * const out = ReadableStream.from(inputs).pipeThrough(pool.map(sum, options));
 * assert.deepEqual(await Array.fromAsync(out), [3, 7]);
 * assert(inputs.every((x) => x.byteLength === 0));
 * ```
 *
 * @example A concurrency the stage picks, up to what keeps the workers busy
 * ```ts
 * import { kernel, type PoolMapOptions, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 2 });
 * const options: PoolMapOptions<number> = { concurrency: "auto" };
 * const stage = pool.map(square, options);
 * const out = ReadableStream.from([1, 2, 3]).pipeThrough(stage);
 * assert.deepEqual(await Array.fromAsync(out), [1, 4, 9]);
 * assert(stage.stats().concurrency >= 1); // the limit it picked
 * ```
 */
export interface PoolMapOptions<I> extends MapOptions {
  /**
   * How many tasks run at once. Unset, the pool decides: enough batches in flight to keep every
   * worker busy, sized by the kernel's measured time. `"auto"`: the stage picks the number while it
   * runs, from its tasks' measured time and its output buffer, never above what the pool decides
   * nor 256; `stats().concurrency` says the number it picked.
   *
   * @default {the pool's adaptive default}
   */
  concurrency?: number | "auto";
  /**
   * The stage's name, used in errors, statistics and traces.
   *
   * @default {the kernel's export name}
   */
  name?: string;
  /**
   * Picks what to transfer from each input, e.g. `transferables` (its buffers) or
   * `(x) => [x.buffer as ArrayBuffer]`.
   */
  transfer?: (input: I) => Transferable[];
  /**
   * As in `RunOptions`.
   *
   * @default {0}
   */
  retries?: number;
}

/**
 * One worker's counters, an entry of `PoolStats.workers`.
 *
 * @example Where the tasks ran
 * ```ts
 * import { kernel, WorkerPool, type WorkerStats } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 2 });
 * await Promise.all([1, 2, 3, 4].map((x) => pool.run(square, x)));
 * const workers: readonly WorkerStats[] = pool.stats().workers;
 * assert.equal(workers.reduce((n, w) => n + w.tasksDone, 0), 4);
 * assert(workers.every((w) => w.queueLength === 0 && w.pid === undefined)); // Web Workers: no pid
 * ```
 */
export interface WorkerStats {
  /** The worker's number; a replacement gets a new one. */
  readonly id: number;
  /** Tasks this worker finished. */
  readonly tasksDone: number;
  /** Milliseconds this worker spent running tasks. */
  readonly busyMs: number;
  /** Tasks sent to this worker and not finished yet. */
  readonly queueLength: number;
  /** The process id of a `ProcessPool` child (absent for a Web Worker). */
  readonly pid?: number;
}

/**
 * A snapshot of a pool, as `stats()` returns it.
 *
 * @example Counters after three tasks, and after close()
 * ```ts
 * import { kernel, type PoolStats, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 2, name: "squares" });
 * await Promise.all([1, 2, 3].map((x) => pool.run(square, x)));
 * const stats: PoolStats = pool.stats();
 * assert.equal(stats.tasksDone, 3);
 * assert.equal(stats.crashes, 0);
 * assert.equal(stats.workers.length, 2);
 * await pool.close();
 * assert(pool.stats().closed);
 * ```
 */
export interface PoolStats {
  /** The pool's name. */
  readonly name: string;
  /** How many workers the pool keeps. */
  readonly size: number;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** Tasks waiting for a worker. */
  readonly queued: number;
  /** Tasks finished, by all workers, replaced ones included. */
  readonly tasksDone: number;
  /** Workers that died and were replaced. */
  readonly crashes: number;
  /** The workers (after `close()`, the last ones, with their counters). */
  readonly workers: readonly WorkerStats[];
}

/**
 * The surface of a pool: run kernels one at a time or as a stream stage,
 * report, close. `WorkerPool` and `ProcessPool` (both `LocalPool`s) have
 * it; `kernelStage` and the builder's `pipe({ executor })` take any object
 * that has it.
 *
 * @example Code that takes either pool
 * ```ts
 * import { kernel, type Pool, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * async function squares(pool: Pool, xs: number[]): Promise<number[]> {
 *   return await Array.fromAsync(ReadableStream.from(xs).pipeThrough(pool.map(square)));
 * }
 * await using pool = new WorkerPool({ size: 1 });
 * assert.deepEqual(await squares(pool, [1, 2, 3]), [1, 4, 9]);
 * ```
 */
export interface Pool extends AsyncDisposable {
  /** How many workers the pool keeps. */
  readonly size: number;
  /**
   * Runs `k` on `input` in a worker.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param input Its input.
   * @param options `transfer`, `signal`, `retries`.
   * @returns The kernel's result.
   */
  run<I, O>(
    k: Kernel<(input: I) => O>,
    input: I | Transfer<I>,
    options?: RunOptions,
  ): Promise<Awaited<O>>;
  /**
   * A stage that runs `k` on every chunk in the pool.
   *
   * @typeParam I The kernel's input type.
   * @typeParam O The kernel's return type.
   * @param k The kernel.
   * @param options `MapOptions`, plus `transfer` and `retries`.
   * @returns A `TransformStream` from inputs to results.
   */
  map<I, O>(k: Kernel<(input: I) => O>, options?: PoolMapOptions<I>): StageStream<I, Awaited<O>>;
  /**
   * A snapshot of the pool's counters.
   *
   * @returns The pool's statistics.
   */
  stats(): PoolStats;
  /**
   * Stops every worker; tasks not finished reject. Idempotent.
   *
   * @returns When the workers are gone.
   */
  close(): Promise<void>;
}
