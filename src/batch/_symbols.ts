// The internal keys the batch modules share state under, instead of module
// maps: what `@action` knows of a method lives on the method, the pools of
// the run that holds a batch live on the batch, and a trace recorder opens a
// run's recording under a symbol. No symbol leaves src/batch, so none is
// part of the public API.

import type { PoolKind } from "../exec/pool_set.ts";
import type { Pool } from "../exec/pool_types.ts";

/** Where the in-batch calls of a batch find their pool by kind (a `PoolSet`, or a run's `pool`). */
export interface RunPools {
  pool(kind: PoolKind): Pool;
  /** Aborted when the run ends: its in-batch calls on a pool withdraw their tasks. */
  readonly signal?: AbortSignal;
}

/** What the pipeline knows of an action. */
export interface ActionInfo {
  /** The lock's key: the method itself, a shared name, or none. */
  readonly lock: object | string | undefined;
}

/** The key of an action's `ActionInfo`, on the method `@action` returns. */
export const ACTION: unique symbol = Symbol("conveyor.action");

/** The key of `BatchTraceRecorder`'s method that starts recording a run. */
export const OPEN_RUN: unique symbol = Symbol("conveyor.openRun");

/** How an action or a batch ended. */
export type CallOutcome = "ok" | "failed" | "skipped" | "stopped";

/** What a run tells its recorder; times come from `now()`. */
export interface RunTrace {
  /** The recorder's clock. */
  now(): number;
  /** A batch was made: it takes the lowest free track. */
  batchCreated(batch: number, size: number): void;
  /** A batch left processing: its span is recorded and its track freed. */
  batchEnded(batch: number, outcome: CallOutcome): void;
  /** An action call ended. */
  action(batch: number, action: number, name: string, started: number, outcome: CallOutcome): void;
  /** An action waited for its lock from `started` until now. */
  lockWait(batch: number, action: number, name: string, lock: string, started: number): void;
  /** The consumer waited for `batch` from `started` until now. */
  consumerWait(batch: number, started: number): void;
  /** The run ended: every batch delivered, an error, a stop, or the consumer cancelled. */
  ended(how: "done" | "failed" | "stopped" | "cancelled"): void;
}

/** The key of the pools of the run that holds a batch, on the batch. */
export const RUN_POOLS: unique symbol = Symbol("conveyor.runPools");

/** The action behind a method, if it is one. */
export function actionInfo(method: unknown): ActionInfo | undefined {
  return typeof method === "function" ? (method as { [ACTION]?: ActionInfo })[ACTION] : undefined;
}

/** Marks `method` as an action. */
export function markAction(method: object, info: ActionInfo): void {
  Object.defineProperty(method, ACTION, { value: Object.freeze(info) });
}

/**
 * Gives `batch` the pools of the run that holds it, as a property that is
 * not enumerable (not part of its data). A frozen batch keeps none: its
 * in-batch calls use the standalone pools.
 */
export function bindPools(batch: object, pools: RunPools): void {
  Reflect.defineProperty(batch, RUN_POOLS, { value: pools, configurable: true });
}

/** The pools of the run holding `batch`, if any. */
export function poolsOf(batch: object): RunPools | undefined {
  return (batch as { [RUN_POOLS]?: RunPools })[RUN_POOLS];
}
