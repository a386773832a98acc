// The engine behind map, filter and flatMap: up to `concurrency` tasks at
// once, each chunk numbered on entry; an ordered stage releases results by
// number through a reorder buffer. A slot is held from the moment a chunk is
// taken until its result is given downstream, and the readable side's
// high-water mark is `concurrency` too, so a stage never holds more than
// `concurrency` items, however slow one task is or however slowly the
// consumer reads. The stage's meter times its tasks, failed ones included
// (only some of them once tasks take microseconds: see stage_meter.ts).
// With `concurrency: "auto"` a Tuner (_autotune.ts) moves the limit as tasks
// end, below AUTO_LIMIT, which sizes the buffers instead.

import { Stage } from "./_stage.ts";
import { ReorderBuffer } from "./_reorder_buffer.ts";
import { StageError } from "./stage_error.ts";
import type { MapOptions, StageStats, TaskContext } from "./types.ts";
import { isThenable, type StageHooks } from "../_internal/hooks.ts";
import { AUTO, AUTO_LIMIT } from "../_internal/options.ts";
import { type Common, MAP_OPTIONS, stageOptions } from "./options.ts";
import { Tuner } from "./_autotune.ts";

/** Marks a result that gives nothing downstream (a filtered or skipped item). */
export const SKIP: unique symbol = Symbol("skip");

/** A task's function, as each concurrent stage sees it. */
export type Task<I, R> = (item: I, ctx: TaskContext) => R | PromiseLike<R>;

/** A concurrent stage's checked options. */
export interface Settings extends Common {
  /** The limit of tasks; with `auto`, the most the tuner may choose. */
  readonly concurrency: number;
  /** `concurrency: "auto"`: the stage tunes its limit while it runs. */
  readonly auto: boolean;
  readonly ordered: boolean;
  readonly skip: boolean;
  readonly maxFailures: number;
}

/**
 * Checks `MapOptions` for a stage of kind `kind`: the one place the failure
 * policy (`onError`, `maxFailures`) is read, whichever front-end made the
 * stage.
 */
export function mapSettings(kind: string, options: MapOptions | undefined): Settings {
  const o = stageOptions(kind, MAP_OPTIONS, options);
  const onError = o.onError ?? (o.maxFailures === undefined ? "fail" : "skip");
  if (onError === "fail" && o.maxFailures !== undefined) {
    throw new TypeError(
      `Cannot create ${kind} stage: maxFailures applies only with onError "skip", got onError "fail" and maxFailures ${o.maxFailures}`,
    );
  }
  return {
    name: o.name,
    signal: o.signal,
    hooks: o.hooks,
    concurrency: o.concurrency === AUTO ? AUTO_LIMIT : o.concurrency ?? 1,
    auto: o.concurrency === AUTO,
    ordered: o.ordered ?? true,
    skip: onError === "skip",
    maxFailures: o.maxFailures ?? Infinity,
  };
}

/** Runs a task per chunk with bounded concurrency; subclasses say what a result gives. */
export abstract class ConcurrentStage<I, R, O> extends Stage<I, O> {
  readonly #task: Task<I, R>;
  #limit: number;
  readonly #buffer: ReorderBuffer<R | typeof SKIP> | undefined;
  readonly #skip: boolean;
  readonly #maxFailures: number;
  readonly #abort = new AbortController();
  #index = 0;
  #active = 0;
  #inFlight = 0;
  #failures = 0;
  // The task timed in the plain path (-1: none), and when it started.
  #timedIndex = -1;
  #timedStart = 0;

  constructor(task: Task<I, R>, settings: Settings) {
    const given = settings.hooks;
    // A tuned stage hears of its tasks' ends as a traced one does, so the
    // plain path of a stage with a fixed limit has nothing more to check.
    let ended: (() => void) | undefined;
    const hooks: StageHooks | undefined = settings.auto
      ? {
        ...given,
        taskEnded: (index, token, ok) => {
          given?.taskEnded?.(index, token, ok);
          ended!();
        },
      }
      : given;
    super(settings.name, settings.concurrency, hooks);
    this.#task = task;
    this.#limit = settings.concurrency;
    if (settings.auto) {
      const room = given?.room;
      const tuner = new Tuner({
        busyMs: () => this.stats().busyMs,
        ...(room === undefined ? {} : { admits: (n: number) => room(n - 1) }),
      }, settings.concurrency);
      this.#limit = tuner.limit;
      ended = () => {
        this.#limit = tuner.ended(this.desiredSize <= 0);
      };
    }
    this.#buffer = settings.ordered ? new ReorderBuffer(settings.concurrency) : undefined;
    this.#skip = settings.skip;
    this.#maxFailures = settings.maxFailures;
    this.watch(settings.signal);
  }

  /** What a task's result gives: a value to deliver, or `SKIP`. */
  protected abstract result(item: I, value: R): R | typeof SKIP;

  /** Gives a result downstream (one `emit`, several, or none). */
  protected abstract deliver(value: R): void;

  override stats(): StageStats {
    return this.report(
      this.#failures,
      this.#inFlight,
      this.hooks?.concurrency?.() ?? this.#limit,
    );
  }

  protected accept(item: I): void {
    const index = this.#index++;
    this.#active++;
    this.#inFlight++;
    const hooks = this.hooks;
    // Most tiny tasks are not timed (-1). A timed one takes the plain path
    // too when the timing slot is free (#settled and #failed end it): one
    // path, so the hot code stays small.
    let started = this.meter.taskStarted();
    if (started >= 0 && this.#timedIndex < 0) {
      this.#timedIndex = index;
      this.#timedStart = started;
      started = -1;
    }
    if (started >= 0 || hooks?.taskStarted !== undefined || hooks?.taskEnded !== undefined) {
      return this.#acceptWatched(item, index, started, hooks);
    }
    let value;
    try {
      // Through Reflect.apply, with no `this` (the stage is not the task's to
      // see, and a `call` property of the function's own is not what runs):
      // called as a method, a CPU-bound task was inlined here by V8's Maglev,
      // where its loops ran about 4x slower than in its own optimized code
      // (~150 µs instead of ~37 µs an item, for as long as the stage lived).
      value = Reflect.apply(this.#task, undefined, [item, { index, signal: this.#abort.signal }]);
    } catch (error) {
      return this.#failed(index, error);
    }
    if (isThenable(value)) {
      value.then(
        (v) => this.#settled(index, item, v),
        (e) => this.#failed(index, e),
      );
    } else {
      this.#settled(index, item, value);
    }
  }

  // `accept` for a task that the meter times, or the layer above traces.
  #acceptWatched(item: I, index: number, started: number, hooks: StageHooks | undefined): void {
    const meter = this.meter;
    const token = hooks?.taskStarted?.(index);
    let value;
    try {
      value = Reflect.apply(this.#task, undefined, [item, { index, signal: this.#abort.signal }]);
    } catch (error) {
      meter.taskEnded(started);
      hooks?.taskEnded?.(index, token, false);
      return this.#failed(index, error);
    }
    if (isThenable(value)) {
      value.then(
        (v) => {
          meter.taskEnded(started);
          hooks?.taskEnded?.(index, token, true);
          this.#settled(index, item, v);
        },
        (e) => {
          meter.taskEnded(started);
          hooks?.taskEnded?.(index, token, false);
          this.#failed(index, e);
        },
      );
    } else {
      meter.taskEnded(started);
      hooks?.taskEnded?.(index, token, true);
      this.#settled(index, item, value);
    }
  }

  /** Tasks started and not yet delivered (in flight or waiting for order). */
  protected get active(): number {
    return this.#active;
  }

  protected override hasRoom(): boolean {
    return this.#roomWith(this.#active);
  }

  protected override freeRoom(most: number): number {
    const active = this.#active;
    const free = Math.min(most, this.#limit - active, this.desiredSize - active);
    const room = this.hooks?.room;
    if (room === undefined || free <= 0) return free;
    let n = 0;
    while (n < free && room(active + n)) n++;
    return n;
  }

  // Whether another task may start while `active` are started and not delivered.
  #roomWith(active: number): boolean {
    if (!(active < this.#limit && active < this.desiredSize)) return false;
    const room = this.hooks?.room;
    return room === undefined || room(active);
  }

  protected override idle(): boolean {
    return this.#active === 0;
  }

  protected override stopped(reason: unknown): void {
    this.#abort.abort(reason);
    this.hooks?.stopped?.(reason);
  }

  #settled(index: number, item: I, value: R): void {
    if (index === this.#timedIndex) this.#timed();
    this.#inFlight--;
    if (this.finished) return;
    let out;
    try {
      out = this.result(item, value);
    } catch (error) {
      this.#inFlight++;
      return this.#failed(index, error);
    }
    this.#release(index, out);
  }

  #failed(index: number, error: unknown): void {
    if (index === this.#timedIndex) this.#timed();
    this.#inFlight--;
    if (this.finished) return;
    this.#failures++;
    this.hooks?.failed?.(index, error);
    if (!this.#skip) return this.fail(new StageError(this.name, index, error));
    if (this.#failures > this.#maxFailures) {
      return this.fail(
        new StageError(
          this.name,
          index,
          error,
          `${this.#failures} failures, more than maxFailures ${this.#maxFailures}`,
        ),
      );
    }
    this.#release(index, SKIP);
  }

  // The task in the timing slot ended.
  #timed(): void {
    this.meter.taskEnded(this.#timedStart);
    this.#timedIndex = -1;
  }

  #release(index: number, out: R | typeof SKIP): void {
    const buffer = this.#buffer;
    if (buffer === undefined) {
      this.#active--;
      if (out !== SKIP) this.deliver(out);
    } else if (index !== buffer.next) {
      buffer.put(index, out);
      return;
    } else {
      buffer.skip();
      this.#active--;
      if (out !== SKIP) this.deliver(out);
      while (buffer.ready && !this.finished) {
        const next = buffer.shift();
        this.#active--;
        if (next !== SKIP) this.deliver(next);
      }
    }
    this.progress();
  }
}
