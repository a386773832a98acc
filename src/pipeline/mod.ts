/**
 * Pipelines after SPDL: `PipelineBuilder` describes a source, stages and a
 * sink; `Pipeline` runs them, with per-stage statistics and traces.
 *
 * @example Three stages and a sink
 * ```ts
 * import { PipelineBuilder } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * await using pipeline = new PipelineBuilder()
 *   .addSource([1, 2, 3, 4])
 *   .pipe(async (x: number) => x * 2, { concurrency: 2, outputOrder: "input" })
 *   .aggregate(2)
 *   .addSink()
 *   .build();
 * assert.deepEqual(await Array.fromAsync(pipeline), [[2, 4], [6, 8]]);
 * ```
 *
 * @module
 */

export { type Op, PipelineBuilder, type Source } from "./builder.ts";
export {
  type Dashboard,
  type DashboardOptions,
  type DashboardSource,
  type DashboardStats,
  serveDashboard,
} from "./dashboard.ts";
export { PipelineEnded, PipelineFailure, PipelineTimeout } from "./errors.ts";
export { Pipeline } from "./pipeline.ts";
export { bottleneck, type PipelineStageStats, type PipelineStats, renderStats } from "./stats.ts";
export { type ChromeTraceEvent, TraceRecorder, type TraceRecorderOptions } from "./trace.ts";
export type { BuildOptions, PipeOptions } from "./types.ts";
