/**
 * The stream stages: every one a `TransformStream`.
 *
 * @example A concurrent map then batches
 * ```ts
 * import { batch, map } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = ReadableStream.from([1, 2, 3, 4, 5])
 *   .pipeThrough(map(async (x: number) => x * 10, { concurrency: 4 }))
 *   .pipeThrough(batch(2));
 * assert.deepEqual(await Array.fromAsync(out), [[10, 20], [30, 40], [50]]);
 * ```
 *
 * @module
 */

export { map } from "./map.ts";
export { filter } from "./filter.ts";
export { flatMap } from "./flat_map.ts";
export { batch, type BatchOptions } from "./batch.ts";
export { unbatch } from "./unbatch.ts";
export { window, type WindowOptions } from "./window.ts";
export { prefetch } from "./prefetch.ts";
export { lines } from "./lines.ts";
export { source } from "./source.ts";
export { StageError } from "./stage_error.ts";
export type { MapOptions, StageOptions, StageStats, StageStream, TaskContext } from "./types.ts";
