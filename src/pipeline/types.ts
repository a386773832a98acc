/**
 * Options of `PipelineBuilder.pipe()` and `build()`.
 *
 * @module
 */

import type { Pool } from "../exec/pool_types.ts";
import type { ProcessPermissions } from "../exec/process_pool.ts";
import type { PipelineStats } from "./stats.ts";
import type { TraceRecorder } from "./trace.ts";

/**
 * Options of a `pipe` stage.
 *
 * @example A download stage
 * ```ts
 * import type { PipeOptions } from "@conveyor/core";
 *
 * const options: PipeOptions = { concurrency: 4, outputOrder: "input", name: "download" };
 * ```
 *
 * @example Concurrencies the stages pick while they run
 * ```ts
 * import { PipelineBuilder, type PipeOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const download = async (x: number) => {
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   return x;
 * };
 * const options: PipeOptions = { concurrency: "auto", outputOrder: "input" };
 * await using pipeline = new PipelineBuilder()
 *   .addSource([1, 2, 3])
 *   .pipe(download, { ...options, name: "download" })
 *   .addSink()
 *   .build();
 * assert.deepEqual(await Array.fromAsync(pipeline), [1, 2, 3]);
 * const [stage] = pipeline.stats().stages;
 * assert(stage!.concurrency >= 1 && stage!.concurrency <= 256); // what it picked
 * ```
 */
export interface PipeOptions {
  /**
   * How many tasks of the stage run at once. Unset, a kernel on a pool keeps every worker of that
   * pool busy. `"auto"`: the stage picks the number while it runs, from its tasks' measured time
   * and its output buffer, never above 256 (on a pool, nor above what keeps every worker busy); the
   * statistics say the number it picked.
   *
   * @default {1 for a function or a kernel on main; the pool's adaptive default for a kernel on a pool}
   */
  concurrency?: number | "auto";
  /**
   * `"completion"`: results go on as tasks finish; `"input"`: in input order.
   *
   * @default {"completion"}
   */
  outputOrder?: "completion" | "input";
  /**
   * The stage's name in statistics, traces and errors.
   *
   * @default {the function's or export's name}
   */
  name?: string;
  /**
   * How many failed items the stage drops before the pipeline fails.
   *
   * @default {the pipeline's `maxFailures`}
   */
  maxFailures?: number;
  /**
   * Where a kernel runs: the pipeline's worker pool (`"workers"`), a pool of `numThreads` child
   * processes (`"processes"`), the event loop (`"main"`), or a pool of yours (left open). A
   * function always runs on the event loop.
   *
   * @default {"workers" for a kernel, "main" for a function}
   */
  executor?: "main" | "workers" | "processes" | Pool;
  /**
   * For a kernel on workers: move the input's buffers to the worker instead of copying them (they
   * are detached here). `true` finds them (an `ArrayBuffer`, a typed array, or those directly
   * inside an array or a plain object); a function lists them.
   *
   * @default {false}
   */
  transfer?: boolean | ((input: never) => Transferable[]);
}

/**
 * Options of `PipelineBuilder.build()`.
 *
 * @example Statistics every second
 * ```ts
 * import type { BuildOptions } from "@conveyor/core";
 *
 * const options: BuildOptions = {
 *   numThreads: 4,
 *   reportStatsInterval: 1000,
 *   onStats: (stats) => console.log(stats.stages.map((s) => `${s.name}: ${s.itemsOut}`)),
 * };
 * ```
 */
export interface BuildOptions {
  /**
   * How many workers run kernel stages (the shared pool's size).
   *
   * @default {navigator.hardwareConcurrency}
   */
  numThreads?: number;
  /**
   * How many failed items each stage drops before the pipeline fails with a `PipelineFailure`; a
   * stage's own `maxFailures` overrides it.
   *
   * @default {0}
   */
  maxFailures?: number;
  /**
   * Calls `onStats` this often (ms, above 0 and at most 2^31 - 1) while the pipeline runs, and once
   * at its end. `Infinity`: only at the end.
   */
  reportStatsInterval?: number;
  /** Receives the statistics (see `reportStatsInterval`). */
  onStats?: (stats: PipelineStats) => void;
  /** Records every task's start and end, for a Chrome trace file. */
  trace?: TraceRecorder;
  /**
   * What the children of the pipeline's `ProcessPool` (`executor: "processes"`) may do; nothing by
   * default.
   *
   * @default {{}}
   */
  processPermissions?: ProcessPermissions;
}
