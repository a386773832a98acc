/**
 * The errors a pipeline ends with or a `getItem` rejects with.
 *
 * @module
 */

import type { StageError } from "../stream/stage_error.ts";

/**
 * A pipeline ended because a stage had more failed items than it allows
 * (`maxFailures`, 0 by default). `errors` lists every failure so far, from
 * every stage, as `StageError`s naming the stage and the item.
 *
 * @example What a failure says
 * ```ts
 * import { PipelineBuilder, PipelineFailure } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const pipeline = new PipelineBuilder()
 *   .addSource([1, 2, 3])
 *   .pipe((x: number) => {
 *     if (x === 2) throw new Error("no twos");
 *     return x;
 *   }, { name: "check" })
 *   .addSink()
 *   .build();
 * await assert.rejects(Array.fromAsync(pipeline), (e: unknown) => {
 *   assert(e instanceof PipelineFailure);
 *   assert.equal(e.errors[0]!.stage, "check");
 *   assert.equal(e.errors[0]!.index, 1);
 *   return true;
 * });
 * ```
 */
export class PipelineFailure extends AggregateError {
  /** Each failed item, in the order they failed. */
  declare readonly errors: StageError[];

  /**
   * Makes the error.
   *
   * @param errors The failures, each naming its stage and item.
   * @param stage The stage that went over its limit.
   * @param limit That stage's `maxFailures`.
   */
  constructor(errors: readonly StageError[], stage: string, limit: number) {
    const last = errors.at(-1);
    const stages = [...new Set(errors.map((e) => e.stage))].map((s) =>
      `"${s}": ${errors.filter((e) => e.stage === s).length}`
    );
    super(
      [...errors],
      `Pipeline failed: stage "${stage}" had more than ${limit} failed item${
        limit === 1 ? "" : "s"
      } (failures by stage: ${stages.join(", ")})${last ? `; last: ${last.message}` : ""}`,
    );
    this.name = "PipelineFailure";
  }
}

/**
 * `getItem({ timeout })` waited `timeout` milliseconds for an item. The item
 * is not lost: the next `getItem` returns it. (Not named `TimeoutError`:
 * that is the `DOMException` an `AbortSignal.timeout()` signal aborts with.)
 *
 * @example Waiting a little, then again
 * ```ts
 * import { PipelineBuilder, PipelineTimeout } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const { promise: go, resolve } = Promise.withResolvers<void>();
 * await using pipeline = new PipelineBuilder()
 *   .addSource([1])
 *   .pipe(async (x: number) => {
 *     await go;
 *     return x;
 *   })
 *   .addSink()
 *   .build();
 * await assert.rejects(pipeline.getItem({ timeout: 10 }), (e: unknown) => {
 *   assert(e instanceof PipelineTimeout);
 *   assert.equal(e.name, "PipelineTimeout");
 *   assert.equal(e.timeout, 10);
 *   return true;
 * });
 * resolve();
 * assert.equal(await pipeline.getItem(), 1); // the item was kept
 * ```
 */
export class PipelineTimeout extends Error {
  /** The timeout, in milliseconds. */
  readonly timeout: number;

  /**
   * Makes the error.
   *
   * @param timeout The timeout that passed, in milliseconds.
   */
  constructor(timeout: number) {
    super(`Pipeline.getItem: no item within the timeout of ${timeout} ms`);
    this.name = "PipelineTimeout";
    this.timeout = timeout;
  }
}

/**
 * `getItem()` was called after the pipeline's last item (or after `stop()`).
 *
 * @example At the end
 * ```ts
 * import { PipelineBuilder, PipelineEnded } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * await using pipeline = new PipelineBuilder().addSource([1]).addSink().build();
 * assert.equal(await pipeline.getItem(), 1);
 * await assert.rejects(pipeline.getItem(), PipelineEnded);
 * ```
 */
export class PipelineEnded extends Error {
  /** Makes the error. */
  constructor() {
    super("Pipeline.getItem: the pipeline has no more items");
    this.name = "PipelineEnded";
  }
}
