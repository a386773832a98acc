/**
 * The types the pools share: their options, their statistics, and `Pool`,
 * the surface of `WorkerPool` and `ProcessPool`.
 *
 * @module
 */

import type { Transfer } from "./transfer.ts";
import type { MapOptions, StageStream } from "../stream/types.ts";
import type { Kernel } from "./kernel.ts";

/** Options every pool takes (`new WorkerPool()`, `new ProcessPool()`). */
export interface PoolOptions {
  /**
   * How many workers.
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
}

/** Options of `pool.run()`. */
export interface RunOptions {
  /** Objects to transfer with the input instead of copying (detached here afterwards). */
  transfer?: Transferable[];
  /** Aborting it rejects the task with the reason: a queued task is dropped, a running one's worker is replaced. */
  signal?: AbortSignal;
  /**
   * How many times a task whose worker died is run again before it fails with `WorkerCrashError`.
   *
   * @default {0}
   */
  retries?: number;
}

/** Options of `pool.map()`: `MapOptions` plus what `run` takes per item. */
export interface PoolMapOptions<I> extends MapOptions {
  /** Picks what to transfer from each input, e.g. `(x) => [x.buffer]`. */
  transfer?: (input: I) => Transferable[];
  /**
   * As in `RunOptions`.
   *
   * @default {0}
   */
  retries?: number;
}

/** One worker's counters. */
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

/** A snapshot of a pool, as `stats()` returns it. */
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
 * What `WorkerPool` and `ProcessPool` have in common: run kernels one at a
 * time or as a stream stage, report, close.
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
