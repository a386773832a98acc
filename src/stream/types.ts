/**
 * Options and context shared by the concurrent stages.
 *
 * @module
 */

/**
 * Options every stage takes: `batch`, `unbatch`, `prefetch` (the concurrent
 * stages take them as part of `MapOptions`).
 *
 * @example A named stage that stops when asked
 * ```ts
 * import { prefetch, type StageOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * const options: StageOptions = { name: "ahead", signal: controller.signal };
 * const stage = prefetch<number>(2, options);
 * assert.equal(stage.name, "ahead");
 * controller.abort(new Error("stop"));
 * await assert.rejects(ReadableStream.from([1]).pipeThrough(stage).getReader().read(), /stop/);
 * ```
 */
export interface StageOptions {
  /**
   * A name for errors and statistics.
   *
   * @default {the stage's kind}
   */
  name?: string;
  /** Aborting it stops the stage: its output errors with the reason, upstream is cancelled. */
  signal?: AbortSignal;
}

/**
 * Options of `map`, `filter` and `flatMap`.
 *
 * @example Four tasks at once, results in completion order
 * ```ts
 * import { map, type MapOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const options: MapOptions = { concurrency: 4, ordered: false, name: "double" };
 * const out = await Array.fromAsync(
 *   ReadableStream.from([1, 2, 3]).pipeThrough(map((x: number) => x * 2, options)),
 * );
 * assert.deepEqual(out.sort(), [2, 4, 6]);
 * ```
 */
export interface MapOptions {
  /**
   * How many tasks run at once. With `ordered: true`, a result waiting for an earlier one keeps its
   * slot, so no more than this many items are held.
   *
   * @default {1}
   */
  concurrency?: number;
  /**
   * `true`: results leave in input order. `false`: in completion order.
   *
   * @default {true}
   */
  ordered?: boolean;
  /**
   * The stage's name, used in errors, statistics and traces.
   *
   * @default {"map" (or "filter", "flatMap")}
   */
  name?: string;
  /**
   * What a failing task does: `"fail"` errors the stream with a `StageError`; `"skip"` drops the
   * item and counts it.
   *
   * @default {"fail", or `"skip"` when `maxFailures` is given}
   */
  onError?: "fail" | "skip";
  /**
   * With `onError: "skip"`: how many failures are tolerated; the next one errors the stream.
   *
   * @default {Infinity}
   */
  maxFailures?: number;
  /**
   * Aborting it stops the stage: its readable side errors with the reason and upstream is
   * cancelled.
   */
  signal?: AbortSignal;
}

/**
 * What a task gets besides its item.
 *
 * @example Using the index and the signal
 * ```ts
 * import { map, type TaskContext } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const label = (x: string, ctx: TaskContext) => {
 *   ctx.signal.throwIfAborted();
 *   return `${ctx.index}:${x}`;
 * };
 * const out = await Array.fromAsync(ReadableStream.from(["a", "b"]).pipeThrough(map(label)));
 * assert.deepEqual(out, ["0:a", "1:b"]);
 * ```
 */
export interface TaskContext {
  /** The item's input index, counting from 0. */
  readonly index: number;
  /** Aborts when the stage stops: an error elsewhere, a cancel, or the stage's `signal`. */
  readonly signal: AbortSignal;
}

/**
 * What every conveyor stage is: a `TransformStream` with a name and counters.
 *
 * @typeParam I The input chunk type.
 * @typeParam O The output chunk type.
 *
 * @example Reading a stage's counters
 * ```ts
 * import { map } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const stage = map((x: number) => {
 *   if (x === 2) throw new Error("no twos");
 *   return x;
 * }, { onError: "skip", name: "no-twos" });
 * await Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(stage));
 * assert.deepEqual(stage.stats(), { name: "no-twos", itemsIn: 3, itemsOut: 2, failures: 1, inFlight: 0 });
 * ```
 */
export interface StageStream<I, O> extends TransformStream<I, O> {
  /** The stage's name: the `name` option, or the kind of stage. */
  readonly name: string;
  /** A snapshot of the stage's counters. */
  stats(): StageStats;
}

/**
 * Counters of a stage, as `stage.stats()` returns them.
 *
 * @example Items in and out of a batch stage
 * ```ts
 * import { batch, type StageStats } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const stage = batch<number>(2);
 * await Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(stage));
 * const stats: StageStats = stage.stats();
 * assert.equal(stats.itemsIn, 3);
 * assert.equal(stats.itemsOut, 2);
 * ```
 */
export interface StageStats {
  /** The stage's name. */
  readonly name: string;
  /** Items taken from upstream. */
  readonly itemsIn: number;
  /** Items given downstream. */
  readonly itemsOut: number;
  /** Tasks that failed (skipped ones included). */
  readonly failures: number;
  /** Tasks running now. */
  readonly inFlight: number;
}
