/**
 * conveyor: batched, concurrent data pipelines on web-standard streams.
 *
 * Every stage is a `TransformStream`, so a pipeline is a chain of
 * `pipeThrough` calls from any `ReadableStream` (a file, a `fetch` body, a
 * generator through `ReadableStream.from`) into any `WritableStream`.
 *
 * @example Three concurrent stages, order kept
 * ```ts
 * import { batch, filter, map } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const out = ReadableStream.from([1, 2, 3, 4, 5, 6])
 *   .pipeThrough(map(async (x: number) => x * x, { concurrency: 4 }))
 *   .pipeThrough(filter((x: number) => x % 2 === 0))
 *   .pipeThrough(batch(2));
 * assert.deepEqual(await Array.fromAsync(out), [[4, 16], [36]]);
 * ```
 *
 * @module
 */

export {
  batch,
  type BatchOptions,
  filter,
  flatMap,
  lines,
  map,
  type MapOptions,
  prefetch,
  source,
  StageError,
  type StageOptions,
  type StageStats,
  type StageStream,
  type TaskContext,
  unbatch,
  window,
  type WindowOptions,
} from "./src/stream/mod.ts";
export {
  type AsyncSymbols,
  type Executor,
  type Kernel,
  kernel,
  type KernelMeta,
  kernelStage,
  type LocalPool,
  native,
  type NativeLibrary,
  type NativeOptions,
  type NativePool,
  nativePool,
  type NativePoolOptions,
  type PermissionList,
  type Pool,
  type PoolMapOptions,
  type PoolOptions,
  type PoolStats,
  type ProcessPermissions,
  ProcessPool,
  type ProcessPoolOptions,
  type RunOptions,
  type Transfer,
  transfer,
  transferables,
  WorkerCrashError,
  WorkerPool,
  type WorkerStats,
} from "./src/exec/mod.ts";
export {
  bottleneck,
  type BuildOptions,
  type ChromeTraceEvent,
  type Dashboard,
  type DashboardOptions,
  type DashboardSource,
  type DashboardStats,
  type Op,
  Pipeline,
  PipelineBuilder,
  PipelineEnded,
  PipelineFailure,
  type PipelineStageStats,
  type PipelineStats,
  PipelineTimeout,
  type PipeOptions,
  renderStats,
  serveDashboard,
  type Source,
  TraceRecorder,
  type TraceRecorderOptions,
} from "./src/pipeline/mod.ts";
export {
  action,
  type ActionArgs,
  type ActionMethod,
  type ActionName,
  type ActionOptions,
  anyActionFailed,
  Batch,
  type BatchActionStats,
  type BatchClass,
  type BatchPipeline,
  type BatchRunStats,
  BatchTraceRecorder,
  type BatchTraceRecorderOptions,
  type CallArgs,
  callArgs,
  closeInbatchPools,
  Dataset,
  DatasetIndex,
  formatTrace,
  type GenBatchOptions,
  type InbatchOptions,
  inbatchOptions,
  type InbatchOptionsMarker,
  inbatchParallel,
  type InbatchParallelOptions,
  renderBatchStats,
  SkipBatch,
  StopPipeline,
  type Target,
  type TraceEvent,
} from "./src/batch/mod.ts";
export {
  type Operation,
  Operations,
  type OperationsOptions,
  type OperationsStats,
  type OpMeta,
} from "./src/operations/mod.ts";
export {
  buildFromSpec,
  type BuildFromSpecOptions,
  type MapStageSpec,
  type NatsExecutorSpec,
  type NatsPoolOptions,
  parseSpec,
  type PipelineSpec,
  type SinkSpec,
  type SourceSpec,
  SpecError,
  type SpecOptions,
  type SpecResult,
  type SpecRun,
  type StageSpec,
  validateSpec,
} from "./src/config/mod.ts";
