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
 *
 * @example A concurrency the stage picks while it runs
 * ```ts
 * import { map, type MapOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const lookup = async (x: number) => {
 *   await new Promise((resolve) => setTimeout(resolve, 1)); // a request's latency
 *   return x * 2;
 * };
 * const options: MapOptions = { concurrency: "auto" };
 * const stage = map(lookup, options);
 * const out = await Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(stage));
 * assert.deepEqual(out, [2, 4, 6]); // in input order
 * const { concurrency } = stage.stats(); // the limit it picked: at least 1, at most 256
 * assert(concurrency >= 1 && concurrency <= 256);
 * ```
 */
export interface MapOptions {
  /**
   * How many tasks run at once. With `ordered: true`, a result waiting for an earlier one keeps its
   * slot, so no more than this many items are held. `"auto"`: the stage picks the number while it
   * runs, from its tasks' measured time, its output buffer and (on a pool) the pool's room, never
   * above 256; its buffers hold at most that many items, and `stats().concurrency` says the number
   * it picked.
   *
   * @default {1}
   */
  concurrency?: number | "auto";
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
 * What every conveyor stage is: a `TransformStream` with a name and
 * statistics.
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
 * }, { onError: "skip", name: "no-twos", concurrency: 2 });
 * await Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(stage));
 * const { name, itemsIn, itemsOut, failures, inFlight, concurrency, buffered } = stage.stats();
 * assert.deepEqual(
 *   { name, itemsIn, itemsOut, failures, inFlight, concurrency, buffered },
 *   { name: "no-twos", itemsIn: 3, itemsOut: 2, failures: 1, inFlight: 0, concurrency: 2, buffered: 0 },
 * );
 * ```
 */
export interface StageStream<I, O> extends TransformStream<I, O> {
  /** The stage's name: the `name` option, or the kind of stage. */
  readonly name: string;
  /**
   * A snapshot of the stage's statistics: its counters, and what it
   * measured of its tasks and its output buffer since it was made.
   */
  stats(): StageStats;
}

/**
 * Statistics of a stage, as `stage.stats()` returns them: the same figures
 * whether the stage stands alone or runs in a `Pipeline` (whose
 * `PipelineStageStats` adds the stage's `kind`). Times are measured from
 * the stage's creation. Tasks that take under 20 µs are timed one in 16
 * (under 2.5 µs, one in 128) and `busyMs` is scaled up from those, so that
 * metering stays cheap.
 * Stages that run no tasks of their own (`batch`, `unbatch`, `window`,
 * `prefetch`, `lines`) report `concurrency` 1, `busyMs` 0 and no latency.
 *
 * @example A slow task, timed
 * ```ts
 * import { map, type StageStats } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const slow = async (x: number) => {
 *   await new Promise((resolve) => setTimeout(resolve, 5));
 *   return x;
 * };
 * const stage = map(slow, { concurrency: 2 });
 * await Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(stage));
 * const stats: StageStats = stage.stats();
 * assert.equal(stats.itemsOut, 3);
 * assert.equal(stats.concurrency, 2);
 * assert.ok(stats.busyMs >= 3 * 4); // timers may fire a little early
 * assert.ok(stats.latencyMs!.p50 >= 4);
 * assert.ok(stats.occupancy >= 0 && stats.occupancy <= 1);
 * ```
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
 * assert.equal(stats.latencyMs, undefined);
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
  /**
   * Most tasks the stage runs at once; `Infinity` for no limit. A kernel
   * stage on a pool without a `concurrency` reports the pool's workers.
   */
  readonly concurrency: number;
  /** Sum of the durations of finished tasks (failed ones included), in milliseconds. */
  readonly busyMs: number;
  /** Task latency quantiles in milliseconds; `undefined` until a task finished. */
  readonly latencyMs: { p50: number; p90: number; p99: number } | undefined;
  /** Share (0..1) of the time since the stage was made that its output buffer held at least one item. */
  readonly occupancy: number;
  /** Share (0..1) of the time since the stage was made that its output buffer was at capacity. */
  readonly fullness: number;
  /** Items in the stage's output buffer now. */
  readonly buffered: number;
}
