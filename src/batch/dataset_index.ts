/**
 * `DatasetIndex`: the keys of a dataset's items.
 *
 * @module
 */

import { show } from "../_internal/validate.ts";

/**
 * The keys of a dataset's items, in order: `0..n-1` for a number, or the
 * given keys (unique, at least one).
 *
 * @typeParam K The key type.
 *
 * @example Numbered and named items
 * ```ts
 * import { DatasetIndex } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(new DatasetIndex(3).indices, [0, 1, 2]);
 * const named = new DatasetIndex(["a.jpg", "b.jpg"]);
 * assert.equal(named.length, 2);
 * assert.throws(() => new DatasetIndex(["a", "a"]), RangeError);
 * ```
 */
export class DatasetIndex<K = number> {
  /** The keys, in order. */
  readonly indices: readonly K[];

  /**
   * Makes an index.
   *
   * @param index How many items (keys `0..n-1`), or the keys themselves.
   * @throws {RangeError} When it is empty, or a key appears twice.
   * @throws {TypeError} When it is neither a count nor an array.
   */
  constructor(index: number | readonly K[]) {
    if (typeof index === "number") {
      if (!Number.isInteger(index) || index < 1) {
        throw new RangeError(
          `Cannot create DatasetIndex: a count must be a positive integer, got ${show(index)}`,
        );
      }
      this.indices = Array.from({ length: index }, (_, i) => i as K);
      return;
    }
    if (!Array.isArray(index)) {
      throw new TypeError(
        `Cannot create DatasetIndex: expected a count or an array of keys, got ${show(index)}`,
      );
    }
    if (index.length === 0) throw new RangeError("Cannot create DatasetIndex: the index is empty");
    const seen = new Set<K>();
    for (const key of index) {
      if (seen.has(key)) {
        throw new RangeError(`Cannot create DatasetIndex: key ${show(key)} appears twice`);
      }
      seen.add(key);
    }
    this.indices = Object.freeze([...index]);
  }

  /** How many items. */
  get length(): number {
    return this.indices.length;
  }
}
