// How the layers above a stage watch and steer it without wrapping its
// tasks: an options bag of a stage may carry hooks under the internal symbol
// HOOKS (not exported from mod.ts, so not part of the public API). The
// pipeline traces its stages through them (every stage meters itself), the
// pools add their admission rule, abort their tasks and say what concurrency
// an adaptive stage reports through them, in-batch calls collect failures
// through them.

/** The key of a stage's hooks in its options bag. */
export const HOOKS: unique symbol = Symbol("conveyor.hooks");

/** What a layer above a stage is told, and may decide. All optional. */
export interface StageHooks {
  /** The output buffer now holds `size` items; it is full at `capacity`. */
  buffer?(size: number, capacity: number): void;
  /** The stage takes no more work: it closed, errored or was cancelled. */
  ended?(): void;
  /** Task `index` starts; what it returns comes back to `taskEnded`. */
  taskStarted?(index: number): unknown;
  /** Task `index` settled (`ok` false: it threw or was aborted). */
  taskEnded?(index: number, token: unknown, ok: boolean): void;
  /** Task `index` failed and the stage counted it (not after the stage stopped). */
  failed?(index: number, error: unknown): void;
  /** Whether another task may start while `active` are started and not delivered. */
  room?(active: number): boolean;
  /** The stage stopped early (error, cancel, abort) with `reason`. */
  stopped?(reason: unknown): void;
  /** The concurrency the stage reports in its statistics, when the layer above sets it. */
  concurrency?(): number;
}

/** An options bag that may carry hooks. */
export type Hooked<T> = T & { readonly [HOOKS]?: StageHooks };

/** The hooks in an options bag, if any. */
export function hooksOf(options: unknown): StageHooks | undefined {
  if (options === null || typeof options !== "object") return undefined;
  return (options as { [HOOKS]?: StageHooks })[HOOKS];
}

/** Whether `value` has a `then` method (a promise or another thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise ||
    (value !== null && (typeof value === "object" || typeof value === "function") &&
      typeof (value as PromiseLike<unknown>).then === "function");
}

/**
 * The key, in a kernel stage's options bag, that says each input is the
 * list of the kernel's arguments (spread into the call), as in-batch
 * targets call a kernel with the arguments the method would get.
 */
export const SPREAD: unique symbol = Symbol("conveyor.spread");
