// The public options interfaces whose docs come from their descriptions.

import type { OptionSpec } from "../src/_internal/options.ts";
import {
  BATCH_OPTIONS,
  MAP_OPTIONS,
  STAGE_OPTIONS,
  WINDOW_OPTIONS,
} from "../src/stream/options.ts";
import {
  NATIVE_OPTIONS,
  NATIVE_POOL_OPTIONS,
  POOL_MAP_OPTIONS,
  POOL_OPTIONS,
  PROCESS_POOL_OPTIONS,
  RUN_OPTIONS,
} from "../src/exec/options.ts";
import { BUILD_OPTIONS, PIPE_OPTIONS, TRACE_RECORDER_OPTIONS } from "../src/pipeline/options.ts";
import { OP_META, OPERATIONS_OPTIONS } from "../src/operations/options.ts";
import { BUILD_FROM_SPEC_OPTIONS, SPEC_OPTIONS } from "../src/config/options.ts";
import {
  ACTION_OPTIONS,
  GEN_BATCH_OPTIONS,
  INBATCH_OPTIONS,
  INBATCH_PARALLEL_OPTIONS,
} from "../src/batch/options.ts";

type Specs = Readonly<Record<string, OptionSpec>>;

/** Interface name, the file that declares it, its description. */
export const BAGS: readonly { file: string; name: string; schema: Specs }[] = [
  { file: "src/stream/types.ts", name: "StageOptions", schema: STAGE_OPTIONS },
  { file: "src/stream/types.ts", name: "MapOptions", schema: MAP_OPTIONS },
  { file: "src/stream/batch.ts", name: "BatchOptions", schema: BATCH_OPTIONS },
  { file: "src/stream/window.ts", name: "WindowOptions", schema: WINDOW_OPTIONS },
  { file: "src/exec/pool_types.ts", name: "PoolOptions", schema: POOL_OPTIONS },
  { file: "src/exec/pool_types.ts", name: "RunOptions", schema: RUN_OPTIONS },
  { file: "src/exec/pool_types.ts", name: "PoolMapOptions", schema: POOL_MAP_OPTIONS },
  { file: "src/exec/process_pool.ts", name: "ProcessPoolOptions", schema: PROCESS_POOL_OPTIONS },
  { file: "src/exec/native.ts", name: "NativeOptions", schema: NATIVE_OPTIONS },
  { file: "src/exec/native_pool.ts", name: "NativePoolOptions", schema: NATIVE_POOL_OPTIONS },
  { file: "src/pipeline/types.ts", name: "PipeOptions", schema: PIPE_OPTIONS },
  { file: "src/pipeline/types.ts", name: "BuildOptions", schema: BUILD_OPTIONS },
  { file: "src/pipeline/trace.ts", name: "TraceRecorderOptions", schema: TRACE_RECORDER_OPTIONS },
  { file: "src/operations/options.ts", name: "OpMeta", schema: OP_META },
  { file: "src/operations/operations.ts", name: "OperationsOptions", schema: OPERATIONS_OPTIONS },
  { file: "src/config/spec.ts", name: "SpecOptions", schema: SPEC_OPTIONS },
  {
    file: "src/config/build_from_spec.ts",
    name: "BuildFromSpecOptions",
    schema: BUILD_FROM_SPEC_OPTIONS,
  },
  { file: "src/batch/batch_pipeline.ts", name: "GenBatchOptions", schema: GEN_BATCH_OPTIONS },
  { file: "src/batch/action.ts", name: "ActionOptions", schema: ACTION_OPTIONS },
  { file: "src/batch/inbatch_parallel.ts", name: "InbatchOptions", schema: INBATCH_OPTIONS },
  {
    file: "src/batch/inbatch_parallel.ts",
    name: "InbatchParallelOptions",
    schema: INBATCH_PARALLEL_OPTIONS,
  },
];
