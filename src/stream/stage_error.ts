/**
 * The error a stage fails with when one of its tasks throws.
 *
 * @module
 */

/**
 * A task of a stage failed: which stage, which item (its input index, from 0)
 * and the original error as `cause`.
 *
 * @example Catching a failed task
 * ```ts
 * import { map, StageError } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = ReadableStream.from([1, 2, 3]).pipeThrough(
 *   map((x: number) => {
 *     if (x === 2) throw new Error("two is not allowed");
 *     return x;
 *   }, { name: "check" }),
 * );
 * await assert.rejects(Array.fromAsync(out), (e: unknown) => {
 *   assert(e instanceof StageError);
 *   assert.equal(e.stage, "check");
 *   assert.equal(e.index, 1);
 *   assert.equal((e.cause as Error).message, "two is not allowed");
 *   return true;
 * });
 * ```
 */
export class StageError extends Error {
  /** The stage's name (the `name` option, or the kind of stage). */
  readonly stage: string;
  /** The input index of the item whose task failed, counting from 0. */
  readonly index: number;
  /** The error the task threw. */
  declare readonly cause: unknown;

  /**
   * Makes the error; the message names the stage, the index and the cause.
   *
   * @param stage The stage's name.
   * @param index The failed item's input index.
   * @param cause What the task threw.
   * @param detail Extra words for the message, e.g. why the stage gave up.
   */
  constructor(stage: string, index: number, cause: unknown, detail?: string) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `Stage "${stage}" failed on item ${index}${detail ? ` (${detail})` : ""}: ${reason}`,
      { cause },
    );
    this.name = "StageError";
    this.stage = stage;
    this.index = index;
  }
}
