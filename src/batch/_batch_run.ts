// One run of a batch pipeline: batches are made from the index, each runs
// the actions in order, up to 1 + prefetch at once, and leave in creation
// order. Pulled by the consumer: nothing runs beyond what it asked for plus
// `prefetch`. With `onStats` a meter times every action call and lock wait;
// with a `BatchTraceRecorder` the recorder gets them as spans.

import { PoolSet } from "../exec/pool_set.ts";
import type { Pool } from "../exec/pool_types.ts";
import { nextTurn, turnDue } from "../_internal/turns.ts";
import { Batch } from "./batch.ts";
import { SkipBatch, StopPipeline } from "./errors.ts";
import type { BatchRunStats } from "./stats.ts";
import type { TraceEvent } from "./trace.ts";
import type { BatchTraceRecorder } from "./trace_recorder.ts";
import { RunMeter } from "./_run_meter.ts";
import {
  actionInfo,
  bindPools,
  type CallOutcome,
  OPEN_RUN,
  type RunPools,
  type RunTrace,
} from "./_symbols.ts";

/** One action call of a pipeline. */
export interface Step {
  readonly name: string;
  readonly args: readonly unknown[];
}

type Outcome<B> =
  | { kind: "ok"; batch: B; number: number }
  | { kind: "skip" }
  | { kind: "stop" }
  | { kind: "error"; error: unknown };

/** A FIFO lock. */
class Lock {
  #held = false;
  readonly #waiting: (() => void)[] = [];

  /** Takes the lock; resolves to whether it was held by another batch (and waited for). */
  async acquire(): Promise<boolean> {
    if (!this.#held) {
      this.#held = true;
      return false;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    return true;
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#held = false;
    else next();
  }
}

/** How a call ended, from what it threw. */
function outcomeOf(error: unknown): CallOutcome {
  return error instanceof SkipBatch
    ? "skipped"
    : error instanceof StopPipeline
    ? "stopped"
    : "failed";
}

/** What a run needs. */
export interface RunPlan<K, B> {
  /** The function that made the run, for the trace ("genBatch", "nextBatch", "run"). */
  what: string;
  keys: Iterator<K[]>;
  make: (keys: K[]) => B;
  steps: readonly Step[];
  prefetch: number;
  trace: ((event: TraceEvent) => void) | undefined;
  recorder: BatchTraceRecorder | undefined;
  onStats: ((stats: BatchRunStats) => void) | undefined;
  /** How often `onStats` is called while the run goes on (ms); only at the end when absent. */
  reportStatsInterval: number | undefined;
  /** The pool of every in-batch call on a pool; the run makes its own when absent. */
  pool: Pool | undefined;
}

/** The batches of a run, as a stream. */
export function runBatches<K, B extends Batch<K>>(plan: RunPlan<K, B>): ReadableStream<B> {
  const { keys, make, steps, prefetch, trace, pool, onStats, reportStatsInterval } = plan;
  const meter = onStats === undefined ? undefined : new RunMeter(steps.map((s) => s.name));
  const rec: RunTrace | undefined = plan.recorder?.[OPEN_RUN](plan.what);
  let timer: ReturnType<typeof setInterval> | undefined;
  // The pools of this run's in-batch calls: its own, made on first use, or
  // the one given, which it leaves open. When the run ends, `stop` withdraws
  // the tasks its calls still have on either.
  const own = pool === undefined ? new PoolSet({ name: "batch" }) : undefined;
  const stop = new AbortController();
  const pools: RunPools = {
    pool: (kind) => {
      if (own !== undefined) return own.pool(kind);
      stop.signal.throwIfAborted();
      return pool!;
    },
    signal: stop.signal,
  };
  const locks = new Map<object | string, Lock>();
  const running: Promise<Outcome<B>>[] = [];
  let created = 0;
  let halted = false;
  let exhausted = false;
  let pulled = false;
  let finished: Promise<void> | undefined;
  // Ends a run: no batch starts any more, the results of those still running
  // are dropped, their in-batch calls withdraw their tasks from the pools
  // and its own pools close (so the actions waiting on them end soon; a pool
  // given stays open). An action on the event loop that never ends cannot
  // hold the run up: nothing waits for it. The last report and the trace's
  // end mark say how it ended.
  const finish = (how: "done" | "failed" | "stopped" | "cancelled") =>
    finished ??= (async () => {
      halted = true;
      running.splice(0);
      clearInterval(timer);
      meter?.finished();
      rec?.ended(how);
      stop.abort(new Error("The batch run is over"));
      await own?.close();
      if (meter !== undefined) onStats!(meter.report());
    })();

  async function process(batch: B, number: number): Promise<B> {
    await null; // let the batches of one pull be created first, as batchflow does
    let current: Batch<K> = batch;
    for (let i = 0; i < steps.length; i++) {
      const { name, args } = steps[i]!;
      const method = (current as unknown as Record<string, unknown>)[name];
      const info = actionInfo(method);
      if (info === undefined) {
        throw new TypeError(
          `${current.constructor.name} has no action "${name}" (the batch of action ${
            i + 1
          } is a ${current.constructor.name})`,
        );
      }
      let lock: Lock | undefined;
      if (info.lock !== undefined) {
        const lockName = typeof info.lock === "string" ? info.lock : name;
        lock = locks.get(info.lock);
        if (lock === undefined) locks.set(info.lock, lock = new Lock());
        const waitedSince = meter?.now() ?? 0, traceWaitedSince = rec?.now() ?? 0;
        const waited = await lock.acquire();
        meter?.locked(i, lockName, waitedSince, waited);
        if (waited) rec?.lockWait(number, i + 1, name, lockName, traceWaitedSince);
      }
      try {
        trace?.({ type: "action started", batch: number, action: i + 1, name });
        meter?.called(i);
        const calledAt = meter?.now() ?? 0, traceCalledAt = rec?.now() ?? 0;
        let outcome: CallOutcome = "failed";
        let result: unknown;
        try {
          result = await (method as (...a: unknown[]) => unknown).apply(current, [...args]);
          outcome = "ok";
        } catch (error) {
          outcome = outcomeOf(error);
          throw error;
        } finally {
          meter?.returned(i, calledAt, outcome);
          rec?.action(number, i + 1, name, traceCalledAt, outcome);
        }
        if (result instanceof Batch) {
          current = result as Batch<K>;
          bindPools(current, pools);
        }
        trace?.({ type: "action finished", batch: number, action: i + 1, name });
      } finally {
        lock?.release();
      }
    }
    return current as B;
  }

  function startNext(): boolean {
    if (halted || exhausted) return false;
    const next = keys.next();
    if (next.done) {
      exhausted = true;
      return false;
    }
    const number = ++created;
    const batch = make(next.value);
    bindPools(batch, pools);
    meter?.batchCreated();
    rec?.batchCreated(number, batch.indices.length);
    trace?.({ type: "batch created", batch: number });
    const ended = (outcome: CallOutcome) => {
      meter?.batchEnded(outcome);
      rec?.batchEnded(number, outcome);
    };
    running.push(
      process(batch, number).then(
        (b): Outcome<B> => {
          ended("ok");
          return { kind: "ok", batch: b, number };
        },
        (error): Outcome<B> => {
          ended(outcomeOf(error));
          if (error instanceof SkipBatch) return { kind: "skip" };
          halted = true; // no batch starts after an error or a stop
          return error instanceof StopPipeline ? { kind: "stop" } : { kind: "error", error };
        },
      ),
    );
    return true;
  }

  return new ReadableStream<B>({
    async pull(controller) {
      if (!pulled) {
        pulled = true;
        meter?.started();
        if (meter !== undefined && (reportStatsInterval ?? Infinity) !== Infinity) {
          timer = setInterval(() => onStats!(meter.report()), reportStatsInterval);
        }
      }
      const waitedSince = meter?.now() ?? 0, traceWaitedSince = rec?.now() ?? 0;
      for (;;) {
        // Sync actions move batches by promises alone: let timers run now
        // and then (see turns.ts).
        if (turnDue()) await nextTurn();
        try {
          while (running.length < 1 + prefetch && startNext());
        } catch (error) {
          // Making a batch failed (the index or the batch class threw).
          halted = true;
          running.push(Promise.resolve({ kind: "error", error }));
        }
        const head = running.shift();
        const outcome = head === undefined ? undefined : await head;
        if (outcome?.kind === "ok") {
          meter?.delivered(waitedSince);
          rec?.consumerWait(outcome.number, traceWaitedSince);
          return controller.enqueue(outcome.batch);
        }
        if (outcome?.kind === "skip") continue;
        await finish(
          outcome?.kind === "error" ? "failed" : outcome?.kind === "stop" ? "stopped" : "done",
        );
        if (outcome?.kind === "error") controller.error(outcome.error);
        else controller.close();
        return;
      }
    },
    async cancel() {
      await finish("cancelled");
    },
  }, { highWaterMark: 0 });
}
