// The options bags of the builder, each described once (see
// ../_internal/options.ts). YAML specs check their stage keys and their
// `options` section against these same descriptions. Not exported from
// mod.ts.

import {
  AUTO_LIMIT,
  CONCURRENCY,
  DROP_LAST,
  durationSpec,
  isFunction,
  isName,
  isOneOf,
  MAX_FAILURES,
  NAME,
  type OptionSpec,
  type Schema,
  SIGNAL,
  wordsOf,
} from "../_internal/options.ts";
import { TRACE_OPTIONS } from "../_internal/chrome_trace.ts";
import { isPool } from "../exec/kernel_stage.ts";
import { POOL_SIZE, PROCESS_POOL_OPTIONS } from "../exec/options.ts";
import type { DashboardOptions } from "./dashboard.ts";
import type { TraceRecorderOptions } from "./trace.ts";
import type { BuildOptions, PipeOptions } from "./types.ts";

/** The executors a stage names by kind. */
export const EXECUTORS = ["main", "workers", "processes"] as const;

/** `outputOrder` words. */
export const OUTPUT_ORDERS = ["completion", "input"] as const;

/** The `executor` of a pipe stage. */
export const EXECUTOR: OptionSpec = {
  doc: 'Where a kernel runs: the pipeline\'s worker pool (`"workers"`), a pool of `numThreads` ' +
    'child processes (`"processes"`), the event loop (`"main"`), or a pool of yours (left ' +
    "open). A function always runs on the event loop.",
  expected: `${wordsOf(EXECUTORS)} or a pool`,
  test: (v) => isOneOf(EXECUTORS)(v) || isPool(v),
  default: '"workers" for a kernel, "main" for a function',
  aliases: ["target"],
};

/** `PipeOptions` of `PipelineBuilder.pipe()`. */
export const PIPE_OPTIONS: Schema<PipeOptions> = {
  concurrency: {
    ...CONCURRENCY,
    doc: "How many tasks of the stage run at once. Unset, a kernel on a pool keeps every worker " +
      'of that pool busy. `"auto"`: the stage picks the number while it runs, from its tasks\' ' +
      `measured time and its output buffer, never above ${AUTO_LIMIT} (on a pool, nor above ` +
      "what keeps every worker busy); the statistics say the number it picked.",
    default:
      "1 for a function or a kernel on main; the pool's adaptive default for a kernel on a pool",
  },
  outputOrder: {
    doc: '`"completion"`: results go on as tasks finish; `"input"`: in input order.',
    expected: wordsOf(OUTPUT_ORDERS),
    test: isOneOf(OUTPUT_ORDERS),
    default: '"completion"',
    aliases: ["order", "ordered"],
  },
  name: {
    ...NAME,
    doc: "The stage's name in statistics, traces and errors.",
    default: "the function's or export's name",
  },
  maxFailures: {
    ...MAX_FAILURES,
    doc: "How many failed items the stage drops before the pipeline fails.",
    default: "the pipeline's `maxFailures`",
  },
  executor: EXECUTOR,
  transfer: {
    doc: "For a kernel on workers: move the input's buffers to the worker instead of copying " +
      "them (they are detached here). `true` finds them (an `ArrayBuffer`, a typed array, or " +
      "those directly inside an array or a plain object); a function lists them.",
    expected: "a boolean or a function",
    test: (v) => typeof v === "boolean" || isFunction(v),
    default: "false",
  },
};

/** The options of `PipelineBuilder.aggregate()`. */
export const AGGREGATE_OPTIONS: Schema<{ dropLast?: boolean }> = { dropLast: DROP_LAST };

/** `BuildOptions` of `PipelineBuilder.build()`. */
export const BUILD_OPTIONS: Schema<BuildOptions> = {
  numThreads: { ...POOL_SIZE, doc: "How many workers run kernel stages (the shared pool's size)." },
  maxFailures: {
    ...MAX_FAILURES,
    doc: "How many failed items each stage drops before the pipeline fails with a " +
      "`PipelineFailure`; a stage's own `maxFailures` overrides it.",
    default: "0",
  },
  reportStatsInterval: {
    ...durationSpec(
      "Calls `onStats` this often (ms, above 0 and at most 2^31 - 1) while the pipeline runs, " +
        "and once at its end. `Infinity`: only at the end.",
      "> 0",
    ),
    aliases: ["statsInterval"],
  },
  onStats: {
    doc: "Receives the statistics (see `reportStatsInterval`).",
    expected: "a function",
    test: isFunction,
  },
  trace: {
    doc: "Records every task's start and end, for a Chrome trace file.",
    expected: "a TraceRecorder",
    test: (v) =>
      typeof v === "object" && v !== null && typeof (v as { begin?: unknown }).begin === "function",
  },
  processPermissions: {
    ...PROCESS_POOL_OPTIONS.permissions,
    aliases: ["permissions"],
    doc: 'What the children of the pipeline\'s `ProcessPool` (`executor: "processes"`) may do; ' +
      "nothing by default.",
  },
};

/** The options of `Pipeline.getItem()`. */
export const GET_ITEM_OPTIONS: Schema<{ timeout?: number }> = {
  timeout: durationSpec("How long to wait for an item, in milliseconds.", ">= 0", "Infinity"),
};

/** `TraceRecorderOptions` of `new TraceRecorder()`. */
export const TRACE_RECORDER_OPTIONS: Schema<TraceRecorderOptions> = TRACE_OPTIONS;

/** `DashboardOptions` of `serveDashboard()`. */
export const DASHBOARD_OPTIONS: Schema<DashboardOptions> = {
  port: {
    doc: "The TCP port to listen on; 0 picks a free one (read it from `Dashboard.port`).",
    expected: "an integer from 0 to 65535",
    test: (v) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 65535,
    default: "0",
    numeric: true,
  },
  hostname: {
    doc: "The address to listen on. The default serves this machine only; " +
      '`"0.0.0.0"` serves every network the machine is on, to anyone who can reach it.',
    expected: "a non-empty string",
    test: isName,
    default: '"127.0.0.1"',
  },
  signal: { ...SIGNAL, doc: "Aborting it closes the dashboard (as `close()` does)." },
};
