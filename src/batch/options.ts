// The options bags of the batch front-end, each described once (see
// ../_internal/options.ts): `genBatch`/`nextBatch`/`run`, `@action(...)`,
// `inbatchOptions(...)`, the fixed keys of `@inbatchParallel(...)` and
// `formatTrace`. Not exported from mod.ts.

import {
  badValue,
  DROP_LAST,
  durationSpec,
  isBoolean,
  isCount,
  isFunction,
  isName,
  isOneOf,
  isPositiveInteger,
  type OptionSpec,
  type Schema,
} from "../_internal/options.ts";
import { TRACE_OPTIONS } from "../_internal/chrome_trace.ts";
import { show } from "../_internal/validate.ts";
import { isPool } from "../exec/kernel_stage.ts";
import type { ActionOptions } from "./action.ts";
import type { GenBatchOptions } from "./batch_pipeline.ts";
import type { InbatchOptions, InbatchParallelOptions, Target } from "./inbatch_parallel.ts";
import type { BatchTraceRecorderOptions } from "./trace_recorder.ts";
import { OPEN_RUN } from "./_symbols.ts";

/** Where the items of an in-batch call may run. */
export const TARGETS = [
  "threads",
  "async",
  "for",
  "workers",
  "processes",
  "mpc",
  "nogil",
] as const satisfies readonly Target[];

/** A pool of the caller's for the pool targets (`"workers"`, `"processes"`, `"mpc"`). */
const POOL: OptionSpec = {
  doc: "",
  expected: "a pool (a WorkerPool, a ProcessPool, a NatsPool...)",
  test: isPool,
};

/** The `batchSize` argument of `genBatch`, `nextBatch` and `run`. */
export const BATCH_SIZE: OptionSpec = {
  doc: "Keys per batch, at most the dataset's size.",
  expected: "a positive integer",
  test: isPositiveInteger(),
  numeric: true,
};

/** `GenBatchOptions` of `genBatch`, `nextBatch` and `run`. */
export const GEN_BATCH_OPTIONS: Schema<GenBatchOptions> = {
  shuffle: {
    doc: "Shuffle the index every epoch: `true` with a random seed, a number to seed it (the " +
      "same seed gives the same batches).",
    expected: "a boolean or a seed number",
    test: (v) => isBoolean(v) || (typeof v === "number" && Number.isFinite(v)),
    default: "false",
  },
  nEpochs: {
    doc: "How many passes over the dataset (not with `nIters`).",
    expected: "a positive integer",
    test: isPositiveInteger(),
    default: "1 for `genBatch` and `run` unless `nIters` is given; for ever for `nextBatch`",
    numeric: true,
  },
  nIters: {
    doc: "How many batches in all (not with `nEpochs`).",
    expected: "a positive integer",
    test: isPositiveInteger(),
    numeric: true,
  },
  dropLast: {
    ...DROP_LAST,
    doc: "Drop a batch shorter than `batchSize` at the end of each epoch, instead of filling " +
      "it from the next epoch.",
  },
  prefetch: {
    doc: "How many batches beyond the one the consumer waits for run at once.",
    expected: "a non-negative integer or Infinity",
    test: isCount,
    default: "0",
    numeric: true,
  },
  trace: {
    doc: "A function: sees each batch's creation and each action's start and end. A " +
      "`BatchTraceRecorder`: records the run as a Chrome trace (one track per batch in flight, " +
      "spans for actions and lock waits).",
    expected: "a function or a BatchTraceRecorder",
    test: (v) => isFunction(v) || (typeof v === "object" && v !== null && OPEN_RUN in v),
  },
  reportStatsInterval: {
    ...durationSpec(
      "Calls `onStats` this often (ms, above 0 and at most 2^31 - 1) while the run goes on, " +
        "and once at its end. `Infinity`: only at the end.",
      "> 0",
      "Infinity",
    ),
    aliases: ["statsInterval"],
  },
  onStats: {
    doc: "Receives the run's statistics per action: calls, failures, busy time, latency, lock " +
      "waits (see `reportStatsInterval`).",
    expected: "a function",
    test: isFunction,
  },
  pool: {
    ...POOL,
    doc: 'A pool of yours (a `WorkerPool`, a `ProcessPool`, a `NatsPool`...) for the "workers", ' +
      '"processes" and "mpc" in-batch calls of this run, instead of the pools it makes; left open.',
    default: "the run's own pools, made on first use and closed with it",
  },
};

/** `ActionOptions` of `@action(...)`. */
export const ACTION_OPTIONS: Schema<ActionOptions> = {
  useLock: {
    doc: "`true`: one batch at a time runs this action (a lock per method); a name: one batch " +
      "at a time runs any of the actions sharing that name.",
    expected: "a boolean or a non-empty lock name",
    test: (v) => isBoolean(v) || isName(v),
    default: "false",
  },
};

/** `InbatchOptions` of `inbatchOptions(...)`. */
export const INBATCH_OPTIONS: Schema<InbatchOptions> = {
  nWorkers: {
    doc: "The most items in flight at once.",
    expected: "a positive integer or Infinity",
    test: isPositiveInteger(true),
    default: '4 × cores for "threads", Infinity for "async", 1 for "for", the pool\'s ' +
      'adaptive default (every worker busy) for "workers" and "processes", the cores for "nogil"',
    numeric: true,
  },
  target: {
    doc: "Overrides the decorator's target for this call.",
    expected: `one of ${TARGETS.map((t) => `"${t}"`).join(", ")}`,
    test: isOneOf(TARGETS),
  },
  pool: {
    ...POOL,
    doc: 'A pool of yours for this call\'s items when its target is "workers", "processes" or ' +
      '"mpc"; left open.',
    default: "the run's pool (its `pool`, or its own), or the shared one outside a run",
  },
};

/** The fixed keys of `@inbatchParallel(...)`; the bag is open (other keys go to init and post). */
export const INBATCH_PARALLEL_OPTIONS: Schema<
  Pick<InbatchParallelOptions, "init" | "post" | "target">
> = {
  init: {
    doc: "The name of the batch method that gives one entry per parallel call.",
    expected: "the name of a batch method",
    test: isName,
  },
  post: {
    doc: "The name of the batch method that gets the results; its return value is the call's.",
    expected: "the name of a batch method",
    test: isName,
  },
  target: { ...INBATCH_OPTIONS.target, doc: "Where the items run.", default: '"threads"' },
};

/** `BatchTraceRecorderOptions` of `new BatchTraceRecorder()`. */
export const BATCH_TRACE_RECORDER_OPTIONS: Schema<BatchTraceRecorderOptions> = TRACE_OPTIONS;

/** The options of `formatTrace`. */
export const FORMAT_TRACE_OPTIONS: Schema<{ withBatch?: boolean }> = {
  withBatch: {
    doc: "Always (true) or never (false) name the batch of an action event.",
    expected: "a boolean",
    test: isBoolean,
    default: "only when batches overlap",
  },
};

/**
 * Checks the fixed keys of an open bag (its other keys are someone else's):
 * `required` must be there, and each key `schema` describes must pass its test.
 */
export function checkOpenBag<T extends object>(
  what: string,
  schema: Schema<T>,
  options: unknown,
  required: readonly (keyof T & string)[],
): T & Record<string, unknown> {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object, got ${show(options)}`);
  }
  const bag = options as Record<string, unknown>;
  for (const [key, spec] of Object.entries(schema) as [string, OptionSpec][]) {
    const value = bag[key];
    if (value === undefined ? !required.includes(key as keyof T & string) : spec.test(value)) {
      continue;
    }
    const message = badValue(what, key, spec, value);
    throw spec.numeric === true && typeof value === "number"
      ? new RangeError(message)
      : new TypeError(message);
  }
  return bag as T & Record<string, unknown>;
}
