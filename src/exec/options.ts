// The options bags of the executors, each described once (see
// ../_internal/options.ts). Not exported from mod.ts: the layers above
// build their bags on these.

import {
  AUTO_LIMIT,
  durationSpec,
  isFunction,
  isName,
  isPositiveInteger,
  NAME,
  type OptionSpec,
  RETRIES,
  type Schema,
  SIGNAL,
} from "../_internal/options.ts";
import { MAP_OPTIONS } from "../stream/options.ts";
import type { NativeOptions } from "./native.ts";
import type { NativePoolOptions } from "./native_pool.ts";
import type { PoolMapOptions, PoolOptions, RunOptions } from "./pool_types.ts";
import type { ProcessPoolOptions } from "./process_pool.ts";

/** The most workers a pool may have (each is a thread or a process). */
export const MAX_POOL_SIZE = 1024;

/** A pool's number of workers (threads, processes). */
export const POOL_SIZE: OptionSpec = {
  doc: "How many workers: a positive integer, at most 1024 (each worker is a thread or a " +
    "process; beyond that a pool is a mistake, and a RangeError).",
  expected: `a positive integer up to ${MAX_POOL_SIZE}`,
  test: (v) => typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_POOL_SIZE,
  default: "navigator.hardwareConcurrency",
  numeric: true,
};

/** `PoolOptions` of `new WorkerPool()`. */
export const POOL_OPTIONS: Schema<PoolOptions> = {
  size: POOL_SIZE,
  name: {
    ...NAME,
    doc: "The pool's name, used in workers' names and in errors.",
    default: '"conveyor"',
  },
  maxQueue: {
    doc: "How many tasks may wait for a worker; `run` waits for room beyond that.",
    expected: "a positive integer or Infinity",
    test: isPositiveInteger(true),
    default: "1024 × size",
    numeric: true,
  },
  maxBatch: {
    doc: "The most inputs sent to a worker in one message when the queue is long.",
    expected: "a positive integer",
    test: isPositiveInteger(),
    default: "64",
    numeric: true,
  },
  idleTimeout: durationSpec(
    "Milliseconds a pool with nothing to do keeps its workers; then they stop, and start again " +
      "with the next task (loading the kernel modules again). So a program that forgets " +
      "`close()` still exits, this long after its last task, and an idle pool holds no threads " +
      "or processes. Raise it for work that comes in bursts far apart; `Infinity` keeps the " +
      "workers. A finite value above 2^31 - 1 ms (what a timer can hold) is a `RangeError`.",
    ">= 0",
    "5000",
  ),
};

/** `ProcessPoolOptions` of `new ProcessPool()`. */
export const PROCESS_POOL_OPTIONS: Schema<ProcessPoolOptions> = {
  ...POOL_OPTIONS,
  permissions: {
    doc: "What the children may do.",
    expected: "an object of permission kinds",
    test: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
    default: "{}",
  },
};

/** `RunOptions` of `pool.run()`. */
export const RUN_OPTIONS: Schema<RunOptions> = {
  transfer: {
    doc: "Objects to transfer with the input instead of copying (detached here afterwards).",
    expected: "an array",
    test: Array.isArray,
  },
  signal: {
    ...SIGNAL,
    doc: "Aborting it rejects the task with the reason: a queued task is dropped, a running " +
      "one's worker is replaced.",
  },
  retries: RETRIES,
};

/** The per-item `transfer` of a stage: a function of the input. */
export const TRANSFER_PICK: OptionSpec = {
  doc: "Picks what to transfer from each input, e.g. `transferables` (its buffers) or " +
    "`(x) => [x.buffer as ArrayBuffer]`.",
  expected: "a function",
  test: isFunction,
};

/** `PoolMapOptions` of `pool.map()`. */
export const POOL_MAP_OPTIONS: Schema<PoolMapOptions<unknown>> = {
  ...MAP_OPTIONS,
  concurrency: {
    ...MAP_OPTIONS.concurrency,
    doc: "How many tasks run at once. Unset, the pool decides: enough batches in flight to " +
      'keep every worker busy, sized by the kernel\'s measured time. `"auto"`: the stage picks ' +
      "the number while it runs, from its tasks' measured time and its output buffer, never " +
      `above what the pool decides nor ${AUTO_LIMIT}; \`stats().concurrency\` says the number ` +
      "it picked.",
    default: "the pool's adaptive default",
  },
  name: {
    ...NAME,
    doc: "The stage's name, used in errors, statistics and traces.",
    default: "the kernel's export name",
  },
  transfer: TRANSFER_PICK,
  retries: { ...RETRIES, doc: "As in `RunOptions`." },
};

/** `NativeOptions` of `native()`. */
export const NATIVE_OPTIONS: Schema<NativeOptions> = {
  env: {
    doc: "The name of an environment variable that overrides the path: when it is set and not " +
      "empty, its value is the library opened. Without permission to read it, it counts as " +
      "unset.",
    default: "undefined (no override)",
    expected: "an environment variable name",
    test: (v) => isName(v) && !/[=\0]/.test(v as string),
  },
};

/** `NativePoolOptions` of `nativePool()`. */
export const NATIVE_POOL_OPTIONS: Schema<NativePoolOptions> = {
  ...NATIVE_OPTIONS,
  threads: { ...POOL_SIZE, doc: "How many threads call the library at once, at most 1024." },
};
