/**
 * What an action throws to steer a batch pipeline.
 *
 * @module
 */

/**
 * Thrown by an action: drop this batch. Later actions never see it, and the
 * consumer gets the next one.
 *
 * @example Skip empty batches
 * ```ts
 * import { action, Batch, Dataset, SkipBatch } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Odd extends Batch<number> {
 *   @action
 *   keepOdd(): void {
 *     if (this.indices.every((i) => i % 2 === 0)) throw new SkipBatch();
 *   }
 * }
 * const out = await Array.fromAsync(new Dataset([0, 2, 1, 3], Odd).p.keepOdd().genBatch(2));
 * assert.deepEqual(out.map((b) => b.indices), [[1, 3]]);
 * ```
 */
export class SkipBatch extends Error {
  /**
   * Makes the signal.
   *
   * @param message Why, for logs.
   */
  constructor(message = "batch skipped") {
    super(message);
    this.name = "SkipBatch";
  }
}

/**
 * Thrown by an action: end the run without an error. The batches before
 * this one are delivered; nothing after it.
 *
 * @example Stop at a sentinel
 * ```ts
 * import { action, Batch, Dataset, StopPipeline } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class UpToTwo extends Batch<number> {
 *   @action
 *   check(): void {
 *     if (this.indices.includes(2)) throw new StopPipeline();
 *   }
 * }
 * const out = await Array.fromAsync(new Dataset(6, UpToTwo).p.check().genBatch(1));
 * assert.deepEqual(out.map((b) => b.indices), [[0], [1]]);
 * ```
 */
export class StopPipeline extends Error {
  /**
   * Makes the signal.
   *
   * @param message Why, for logs.
   */
  constructor(message = "pipeline stopped") {
    super(message);
    this.name = "StopPipeline";
  }
}
