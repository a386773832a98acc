/**
 * The `batch` stage.
 *
 * @module
 */

import { Stage } from "./_stage.ts";
import type { StageOptions, StageStream } from "./types.ts";
import * as check from "../_internal/validate.ts";
import { BATCH_OPTIONS, type Common, stageOptions } from "./options.ts";

/**
 * Options of `batch`: `StageOptions` and these.
 *
 * @example A partial batch when the source stalls
 * ```ts
 * import { batch, type BatchOptions } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const options: BatchOptions = { maxWaitMs: 10, name: "rows" };
 * const stage = batch<number>(100, options);
 * const writer = stage.writable.getWriter();
 * const reader = stage.readable.getReader();
 * await writer.write(1);
 * await writer.write(2);
 * assert.deepEqual((await reader.read()).value, [1, 2]); // after 10 ms, the source still open
 * await writer.close();
 * assert((await reader.read()).done);
 * ```
 */
export interface BatchOptions extends StageOptions {
  /**
   * Drop a last batch that has fewer than `size` items.
   *
   * @default {false}
   */
  dropLast?: boolean;
  /**
   * Give a partial batch downstream once its first item has waited this long, so a stalled source
   * does not hold items back. Unset or `Infinity`: wait for a full batch or the end of the stream.
   * At most 2^31 - 1 ms (what a timer can hold); a larger finite value is a `RangeError`.
   *
   * @default {Infinity}
   */
  maxWaitMs?: number;
}

class BatchStage<T> extends Stage<T, T[]> {
  readonly #size: number;
  readonly #dropLast: boolean;
  readonly #maxWaitMs: number;
  #items: T[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    size: number,
    dropLast: boolean,
    maxWaitMs: number,
    common: Common,
  ) {
    super(common.name, 1, common.hooks);
    this.#size = size;
    this.#dropLast = dropLast;
    this.#maxWaitMs = maxWaitMs;
    this.watch(common.signal);
  }

  protected accept(item: T): void {
    this.#items.push(item);
    if (this.#items.length === this.#size) {
      this.#give();
    } else if (this.#items.length === 1 && this.#maxWaitMs !== Infinity) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#give();
        this.progress();
      }, this.#maxWaitMs);
    }
  }

  protected override flush(): void {
    if (this.#items.length > 0 && !this.#dropLast) this.#give();
    this.#clearTimer();
  }

  protected override stopped(): void {
    this.#clearTimer();
    this.#items = [];
  }

  #give(): void {
    this.#clearTimer();
    const items = this.#items;
    this.#items = [];
    this.emit(items);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

/**
 * Groups chunks into arrays of `size`. The last batch may be shorter unless
 * `dropLast`; `maxWaitMs` flushes a partial batch when the source stalls.
 *
 * @typeParam T The chunk type.
 * @param size Items per batch, a positive integer.
 * @param options `dropLast`, `maxWaitMs`, `name`, `signal`.
 * @returns A `TransformStream` from items to arrays of items.
 * @throws {RangeError} When `size` or `maxWaitMs` is out of range.
 * @throws {TypeError} When an option has the wrong type.
 *
 * @example Batches of three
 * ```ts
 * import { batch } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const items = [0, 1, 2, 3, 4, 5, 6];
 * const out = await Array.fromAsync(ReadableStream.from(items).pipeThrough(batch(3)));
 * assert.deepEqual(out, [[0, 1, 2], [3, 4, 5], [6]]);
 * const full = await Array.fromAsync(ReadableStream.from(items).pipeThrough(batch(3, { dropLast: true })));
 * assert.deepEqual(full, [[0, 1, 2], [3, 4, 5]]);
 * ```
 */
export function batch<T>(size: number, options?: BatchOptions): StageStream<T, T[]> {
  const what = "batch stage";
  check.positiveInteger(what, "size", size);
  const o = stageOptions("batch", BATCH_OPTIONS, options);
  return new BatchStage<T>(size, o.dropLast ?? false, o.maxWaitMs ?? Infinity, o);
}
