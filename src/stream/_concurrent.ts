// The engine behind map, filter and flatMap: up to `concurrency` tasks at
// once, each chunk numbered on entry; an ordered stage releases results by
// number through a reorder buffer. A slot is held from the moment a chunk is
// taken until its result is given downstream, and the readable side's
// high-water mark is `concurrency` too, so a stage never holds more than
// `concurrency` items, however slow one task is or however slowly the
// consumer reads.

import { Stage } from "./_stage.ts";
import { ReorderBuffer } from "./_reorder_buffer.ts";
import { StageError } from "./stage_error.ts";
import type { MapOptions, StageStats, TaskContext } from "./types.ts";
import * as check from "./_validate.ts";

/** Marks a result that gives nothing downstream (a filtered or skipped item). */
export const SKIP: unique symbol = Symbol("skip");

/** A task's function, as each concurrent stage sees it. */
export type Task<I, R> = (item: I, ctx: TaskContext) => R | PromiseLike<R>;

interface Settings {
  concurrency: number;
  ordered: boolean;
  name: string;
  skip: boolean;
  maxFailures: number;
  signal: AbortSignal | undefined;
}

/** Checks `MapOptions` for a stage of kind `kind`. */
export function mapSettings(
  kind: string,
  options: MapOptions | undefined,
): Settings {
  const what = `${kind} stage`;
  const o = check.optionsBag(what, options);
  const concurrency = o.concurrency === undefined
    ? 1
    : check.positiveInteger(what, "concurrency", o.concurrency, true);
  const ordered = o.ordered === undefined ? true : check.boolean(what, "ordered", o.ordered);
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) {
    throw new TypeError(
      `Cannot create ${what}: name must be a non-empty string, got ${check.show(o.name)}`,
    );
  }
  const onError = o.onError === undefined
    ? (o.maxFailures === undefined ? "fail" : "skip")
    : check.oneOf(what, "onError", o.onError, ["fail", "skip"] as const);
  const maxFailures = o.maxFailures === undefined
    ? Infinity
    : check.count(what, "maxFailures", o.maxFailures);
  if (onError === "fail" && o.maxFailures !== undefined) {
    throw new TypeError(
      `Cannot create ${what}: maxFailures applies only with onError "skip", got onError "fail" and maxFailures ${maxFailures}`,
    );
  }
  return {
    concurrency,
    ordered,
    name: o.name ?? kind,
    skip: onError === "skip",
    maxFailures,
    signal: check.abortSignal(what, o.signal),
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise ||
    (value !== null &&
      (typeof value === "object" || typeof value === "function") &&
      typeof (value as PromiseLike<unknown>).then === "function");
}

/** Runs a task per chunk with bounded concurrency; subclasses say what a result gives. */
export abstract class ConcurrentStage<I, R, O> extends Stage<I, O> {
  readonly #task: Task<I, R>;
  readonly #limit: number;
  readonly #buffer: ReorderBuffer<R | typeof SKIP> | undefined;
  readonly #skip: boolean;
  readonly #maxFailures: number;
  readonly #abort = new AbortController();
  #index = 0;
  #active = 0;
  #inFlight = 0;
  #failures = 0;

  constructor(task: Task<I, R>, settings: Settings) {
    super(settings.name, settings.concurrency);
    this.#task = task;
    this.#limit = settings.concurrency;
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
    return {
      name: this.name,
      itemsIn: this.itemsIn,
      itemsOut: this.itemsOut,
      failures: this.#failures,
      inFlight: this.#inFlight,
    };
  }

  protected accept(item: I): void {
    const index = this.#index++;
    this.#active++;
    this.#inFlight++;
    let value;
    try {
      value = this.#task(item, { index, signal: this.#abort.signal });
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

  /** Tasks started and not yet delivered (in flight or waiting for order). */
  protected get active(): number {
    return this.#active;
  }

  protected override hasRoom(): boolean {
    return this.#active < this.#limit && this.#active < this.desiredSize;
  }

  protected override idle(): boolean {
    return this.#active === 0;
  }

  protected override stopped(reason: unknown): void {
    this.#abort.abort(reason);
  }

  #settled(index: number, item: I, value: R): void {
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
    this.#inFlight--;
    if (this.finished) return;
    this.#failures++;
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
