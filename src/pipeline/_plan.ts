// What a PipelineBuilder hands to its Pipeline once it checked everything.

import type { Kernel } from "../exec/kernel.ts";
import type { Pool } from "../exec/pool_types.ts";
import type { ProcessPermissions } from "../exec/process_pool.ts";
import type { TaskContext } from "../stream/types.ts";
import type { PipelineStats } from "./stats.ts";
import type { TraceRecorder } from "./trace.ts";

/** One stage as described. */
export type Step =
  | {
    kind: "pipe";
    name: string;
    op: ((input: unknown, context: TaskContext) => unknown) | Kernel<(input: unknown) => unknown>;
    /** Unset: 1, or for a kernel on a pool, the pool's adaptive default. */
    concurrency: number | "auto" | undefined;
    ordered: boolean;
    maxFailures: number | undefined;
    executor: "main" | "workers" | "processes" | Pool;
    transfer: ((input: unknown) => Transferable[]) | undefined;
  }
  | { kind: "aggregate"; name: string; n: number; dropLast: boolean }
  | { kind: "disaggregate"; name: string }
  | { kind: "sink"; name: string; bufferSize: number };

/** A checked pipeline description. */
export interface Plan {
  source: Iterable<unknown> | AsyncIterable<unknown> | ReadableStream<unknown>;
  steps: Step[];
  numThreads: number;
  maxFailures: number;
  reportStatsInterval: number | undefined;
  onStats: ((stats: PipelineStats) => void) | undefined;
  trace: TraceRecorder | undefined;
  processPermissions: ProcessPermissions | undefined;
}
