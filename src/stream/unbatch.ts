/**
 * The `unbatch` stage.
 *
 * @module
 */

import { Stage } from "./_stage.ts";
import type { StageOptions, StageStream } from "./types.ts";
import * as check from "../_internal/validate.ts";
import { type Common, STAGE_OPTIONS, stageOptions } from "./options.ts";

class UnbatchStage<T> extends Stage<Iterable<T>, T> {
  #index = 0;

  constructor(common: Common) {
    super(common.name, 1, common.hooks);
    this.watch(common.signal);
  }

  protected accept(chunk: Iterable<T>): void {
    const index = this.#index++;
    if (Array.isArray(chunk)) {
      for (let i = 0; i < chunk.length; i++) this.emit(chunk[i]);
      return;
    }
    if (
      chunk === null || chunk === undefined || !(Symbol.iterator in Object(chunk))
    ) {
      return this.fail(
        new TypeError(
          `${this.name}: chunk ${index} is not iterable, got ${check.show(chunk)}`,
        ),
      );
    }
    try {
      for (const item of chunk) this.emit(item);
    } catch (error) {
      this.fail(error);
    }
  }
}

/**
 * Gives the items of every iterable chunk downstream one by one: the inverse
 * of `batch`.
 *
 * @typeParam T The item type.
 * @param options `name` and `signal`.
 * @returns A `TransformStream` from iterables to their items.
 *
 * @example Flatten batches
 * ```ts
 * import { unbatch } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = ReadableStream.from([[1, 2], [3], []]).pipeThrough(unbatch<number>());
 * assert.deepEqual(await Array.fromAsync(out), [1, 2, 3]);
 * ```
 */
export function unbatch<T>(options?: StageOptions): StageStream<Iterable<T>, T> {
  return new UnbatchStage<T>(stageOptions("unbatch", STAGE_OPTIONS, options));
}
