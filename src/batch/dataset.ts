/**
 * `Dataset`: an index and a batch class; `dataset.p` starts a pipeline.
 *
 * @module
 */

import { show } from "../_internal/validate.ts";
import type { Batch } from "./batch.ts";
import { type BatchPipeline, emptyPipeline } from "./batch_pipeline.ts";
import { DatasetIndex } from "./dataset_index.ts";

/**
 * A class of batches: made with the keys of a batch and its dataset.
 *
 * @typeParam B The batch type.
 * @typeParam K The key type.
 *
 * @example A dataset's batch class, called by hand
 * ```ts
 * import { Batch, type BatchClass, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {}
 * const dataset = new Dataset(10, Rows);
 * const batchClass: BatchClass<Rows, number> = dataset.batchClass;
 * const batch = new batchClass([3, 4], dataset);
 * assert(batch instanceof Rows);
 * assert.equal(batch.dataset, dataset);
 * assert.deepEqual(batch.indices, [3, 4]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export type BatchClass<B, K> = new (indices: readonly K[], dataset?: any) => B;

/**
 * A dataset: the keys of its items and the class of its batches. Data stays
 * where it is; actions of the batch class load and process it.
 *
 * @typeParam B The batch class.
 * @typeParam K The key type.
 *
 * @example A pipeline over a dataset
 * ```ts
 * import { action, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Files extends Batch<string> {
 *   sizes: number[] = [];
 *   @action measure() {
 *     this.sizes = this.indices.map((name) => name.length);
 *   }
 * }
 * const dataset = new Dataset(["a.txt", "bb.txt", "ccc.txt"], Files);
 * const batch = await dataset.p.measure().nextBatch(2);
 * assert.deepEqual(batch.sizes, [5, 6]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export class Dataset<B extends Batch<any>, K = number> {
  /** The items' keys. */
  readonly index: DatasetIndex<K>;
  /** The class whose instances hold the batches. */
  readonly batchClass: BatchClass<B, K>;

  /**
   * Makes a dataset.
   *
   * @param index The keys: a `DatasetIndex`, a count, or an array.
   * @param batchClass A `Batch` subclass.
   * @throws {RangeError} When the index is empty or has a key twice.
   * @throws {TypeError} When `batchClass` is not a class.
   */
  constructor(
    index: DatasetIndex<K> | number | readonly K[],
    batchClass: BatchClass<B, K>,
  ) {
    this.index = index instanceof DatasetIndex ? index : new DatasetIndex<K>(index);
    if (typeof batchClass !== "function") {
      throw new TypeError(
        `Cannot create Dataset: batchClass must be a class, got ${show(batchClass)}`,
      );
    }
    this.batchClass = batchClass;
  }

  /** How many items. */
  get size(): number {
    return this.index.length;
  }

  /** A new pipeline over this dataset, with no actions yet: chain them on it. */
  get p(): BatchPipeline<B> {
    return emptyPipeline(this);
  }
}
