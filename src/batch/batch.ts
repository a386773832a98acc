/**
 * `Batch`: a group of a dataset's items that actions work on.
 *
 * @module
 */

import type { Dataset } from "./dataset.ts";

/**
 * A group of items, by their keys. Subclass it and give it `@action`
 * methods: they chain into a dataset's pipeline (`dataset.p`). An action
 * that returns a `Batch` hands that batch to the next action; any other
 * return value keeps this one.
 *
 * @example A batch class with an action
 * ```ts
 * import { action, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Squares extends Batch<number> {
 *   data: number[] = [];
 *   @action
 *   load(): void {
 *     this.data = this.indices.map((i) => i * i);
 *   }
 * }
 * const dataset = new Dataset(5, Squares);
 * const batches = await Array.fromAsync(dataset.p.load().genBatch(2));
 * assert.deepEqual(batches.map((b) => b.data), [[0, 1], [4, 9], [16]]);
 * ```
 */
export class Batch<K = unknown> {
  /** The keys of this batch's items. */
  readonly indices: readonly K[];
  /** The dataset the batch comes from, when it has one. */
  // deno-lint-ignore no-explicit-any
  readonly dataset: Dataset<any, K> | undefined;

  /**
   * Makes a batch.
   *
   * @param indices The keys of its items.
   * @param dataset The dataset they come from.
   */
  // deno-lint-ignore no-explicit-any
  constructor(indices: readonly K[], dataset?: Dataset<any, K>) {
    this.indices = indices;
    this.dataset = dataset;
  }

  /** How many items. */
  get size(): number {
    return this.indices.length;
  }
}
