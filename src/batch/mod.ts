/**
 * Batches after batchflow: a `Dataset` of keys and a `Batch` class whose
 * `@action` methods chain into a lazy pipeline (`dataset.p`), run batch by
 * batch with `prefetch`, locks, and in-batch parallelism.
 *
 * @example Load, then process, two batches ahead
 * ```ts
 * import { action, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Items extends Batch<number> {
 *   values: number[] = [];
 *   @action load() {
 *     this.values = this.indices.map((i) => i * 10);
 *   }
 *   @action async shift(by: number) {
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     this.values = this.values.map((x) => x + by);
 *   }
 * }
 * const batches = new Dataset(5, Items).p.load().shift(1).genBatch(2, { prefetch: 2 });
 * const out = (await Array.fromAsync(batches)).map((b) => b.values);
 * assert.deepEqual(out, [[1, 11], [21, 31], [41]]);
 * ```
 *
 * @module
 */

export { action, type ActionMethod, type ActionOptions } from "./action.ts";
export { Batch } from "./batch.ts";
export {
  type ActionArgs,
  type ActionName,
  type BatchPipeline,
  type GenBatchOptions,
} from "./batch_pipeline.ts";
export { type BatchClass, Dataset } from "./dataset.ts";
export { DatasetIndex } from "./dataset_index.ts";
export { SkipBatch, StopPipeline } from "./errors.ts";
export {
  anyActionFailed,
  type CallArgs,
  callArgs,
  closeInbatchPools,
  type InbatchOptions,
  inbatchOptions,
  type InbatchOptionsMarker,
  inbatchParallel,
  type InbatchParallelOptions,
  type Target,
} from "./inbatch_parallel.ts";
export { type BatchActionStats, type BatchRunStats, renderBatchStats } from "./stats.ts";
export { formatTrace, type TraceEvent } from "./trace.ts";
export {
  BatchTraceRecorder,
  type BatchTraceRecorderOptions,
  type ChromeTraceEvent,
} from "./trace_recorder.ts";
