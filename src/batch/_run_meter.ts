// What a batch run measures for `onStats`: per action of the chain, calls,
// outcomes, busy time, latency and lock waits; per run, batches and the
// consumer's waits. Every duration is `now()` after minus before.

import { LatencySketch } from "../stream/latency_sketch.ts";
import type { BatchActionStats, BatchRunStats } from "./stats.ts";
import type { CallOutcome } from "./_symbols.ts";

class ActionMeter {
  calls = 0;
  failures = 0;
  skipped = 0;
  ended = 0;
  busyMs = 0;
  readonly latency = new LatencySketch();
  lock: string | undefined;
  lockWaits = 0;
  lockWaitMs = 0;
  lockWait: LatencySketch | undefined;

  constructor(readonly name: string, readonly action: number) {}

  report(): BatchActionStats {
    return {
      name: this.name,
      action: this.action,
      calls: this.calls,
      failures: this.failures,
      skipped: this.skipped,
      inFlight: this.calls - this.ended,
      busyMs: this.busyMs,
      latencyMs: this.latency.summary(),
      lock: this.lock,
      lockWaits: this.lockWaits,
      lockWaitMs: this.lockWait === undefined
        ? undefined
        : { total: this.lockWaitMs, p99: this.lockWait.quantile(0.99) },
    };
  }
}

/** Measures one run of a batch pipeline whose actions are `names`, in chain order. */
export class RunMeter {
  readonly now: () => number;
  readonly #actions: ActionMeter[];
  #start: number | undefined;
  #end: number | undefined;
  #created = 0;
  #delivered = 0;
  #skipped = 0;
  #ended = 0;
  #consumerWaitMs = 0;

  constructor(names: readonly string[], now: () => number = () => performance.now()) {
    this.now = now;
    this.#actions = names.map((name, i) => new ActionMeter(name, i + 1));
  }

  /** The consumer's first read: the run's clock starts. */
  started(): void {
    this.#start ??= this.now();
  }

  batchCreated(): void {
    this.#created++;
  }

  /** A batch left processing. */
  batchEnded(outcome: CallOutcome): void {
    this.#ended++;
    if (outcome === "skipped") this.#skipped++;
  }

  /** The consumer got a batch it had waited for since `started`. */
  delivered(started: number): void {
    this.#delivered++;
    this.#consumerWaitMs += this.now() - started;
  }

  /** Action `i` (from 0) took lock `lock`, having waited since `started` if `waited`. */
  locked(i: number, lock: string, started: number, waited: boolean): void {
    const a = this.#actions[i]!;
    a.lock = lock;
    a.lockWait ??= new LatencySketch();
    const ms = waited ? Math.max(0, this.now() - started) : 0;
    if (waited) a.lockWaits++;
    a.lockWaitMs += ms;
    a.lockWait.add(ms);
  }

  /** Action `i` (from 0) started a call. */
  called(i: number): void {
    this.#actions[i]!.calls++;
  }

  /** Action `i`'s call that started at `started` ended. */
  returned(i: number, started: number, outcome: CallOutcome): void {
    const a = this.#actions[i]!;
    const ms = Math.max(0, this.now() - started);
    a.ended++;
    a.busyMs += ms;
    a.latency.add(ms);
    if (outcome === "failed") a.failures++;
    else if (outcome === "skipped") a.skipped++;
  }

  /** The run ended: reports say `done` from now on. */
  finished(): void {
    this.#end ??= this.now();
  }

  report(): BatchRunStats {
    return {
      elapsedMs: this.#start === undefined ? 0 : (this.#end ?? this.now()) - this.#start,
      done: this.#end !== undefined,
      created: this.#created,
      delivered: this.#delivered,
      skipped: this.#skipped,
      inFlight: this.#created - this.#ended,
      consumerWaitMs: this.#consumerWaitMs,
      actions: this.#actions.map((a) => a.report()),
    };
  }
}
