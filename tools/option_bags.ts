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
import {
  BUILD_OPTIONS,
  DASHBOARD_OPTIONS,
  PIPE_OPTIONS,
  TRACE_RECORDER_OPTIONS,
} from "../src/pipeline/options.ts";
import { OP_META, OPERATIONS_OPTIONS } from "../src/operations/options.ts";
import { BUILD_FROM_SPEC_OPTIONS, SPEC_OPTIONS } from "../src/config/options.ts";
import {
  ACTION_OPTIONS,
  BATCH_TRACE_RECORDER_OPTIONS,
  GEN_BATCH_OPTIONS,
  INBATCH_OPTIONS,
  INBATCH_PARALLEL_OPTIONS,
} from "../src/batch/options.ts";

type Specs = Readonly<Record<string, OptionSpec>>;

/** Each file that declares options interfaces: the interfaces and their descriptions. */
const BY_FILE: Record<string, Record<string, Specs>> = {
  "src/stream/types.ts": { StageOptions: STAGE_OPTIONS, MapOptions: MAP_OPTIONS },
  "src/stream/batch.ts": { BatchOptions: BATCH_OPTIONS },
  "src/stream/window.ts": { WindowOptions: WINDOW_OPTIONS },
  "src/exec/pool_types.ts": {
    PoolOptions: POOL_OPTIONS,
    RunOptions: RUN_OPTIONS,
    PoolMapOptions: POOL_MAP_OPTIONS,
  },
  "src/exec/process_pool.ts": { ProcessPoolOptions: PROCESS_POOL_OPTIONS },
  "src/exec/native.ts": { NativeOptions: NATIVE_OPTIONS },
  "src/exec/native_pool.ts": { NativePoolOptions: NATIVE_POOL_OPTIONS },
  "src/pipeline/types.ts": { PipeOptions: PIPE_OPTIONS, BuildOptions: BUILD_OPTIONS },
  "src/pipeline/trace.ts": { TraceRecorderOptions: TRACE_RECORDER_OPTIONS },
  "src/pipeline/dashboard.ts": { DashboardOptions: DASHBOARD_OPTIONS },
  "src/operations/options.ts": { OpMeta: OP_META },
  "src/operations/operations.ts": { OperationsOptions: OPERATIONS_OPTIONS },
  "src/config/spec.ts": { SpecOptions: SPEC_OPTIONS },
  "src/config/build_from_spec.ts": { BuildFromSpecOptions: BUILD_FROM_SPEC_OPTIONS },
  "src/batch/batch_pipeline.ts": { GenBatchOptions: GEN_BATCH_OPTIONS },
  "src/batch/action.ts": { ActionOptions: ACTION_OPTIONS },
  "src/batch/trace_recorder.ts": { BatchTraceRecorderOptions: BATCH_TRACE_RECORDER_OPTIONS },
  "src/batch/inbatch_parallel.ts": {
    InbatchOptions: INBATCH_OPTIONS,
    InbatchParallelOptions: INBATCH_PARALLEL_OPTIONS,
  },
};

/** Interface name, the file that declares it, its description. */
export const BAGS: readonly { file: string; name: string; schema: Specs }[] = Object.entries(
  BY_FILE,
).flatMap(([file, bags]) => Object.entries(bags).map(([name, schema]) => ({ file, name, schema })));
