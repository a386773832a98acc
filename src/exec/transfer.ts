/**
 * Marking values for transfer between threads.
 *
 * @module
 */

const TRANSFER = Symbol.for("conveyor.transfer");

/**
 * A value with the list of objects to transfer with it, as `transfer()` makes.
 *
 * @typeParam T The value's type.
 *
 * @example An input moved to a worker, not copied
 * ```ts
 * import { kernel, type Transfer, transfer, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const sum = kernel<(values: Float64Array) => number>(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "sum",
 * );
 * await using pool = new WorkerPool({ size: 1 });
 * const values = new Float64Array([1, 2, 3]);
 * const input: Transfer<Float64Array> = transfer(values);
 * assert.equal(await pool.run(sum, input), 6);
 * assert.equal(values.byteLength, 0); // detached here: the buffer moved
 * ```
 */
export interface Transfer<T> {
  /** The value itself. */
  readonly value: T;
  /** What moves with it instead of being copied. */
  readonly list: readonly Transferable[];
}

/**
 * Marks a kernel's result (or a task's input) to be transferred, not
 * copied: the `ArrayBuffer`s move to the receiving thread and are detached
 * on the sending side. Without `list`, the buffers of `value` are found:
 * an `ArrayBuffer`, a typed array or `DataView`, or those directly inside an
 * array or a plain object.
 *
 * @typeParam T The value's type.
 * @param value The value to send.
 * @param list What to transfer; found in `value` when left out.
 * @returns The marked value; a worker pool unwraps it.
 *
 * @example A kernel that hands its buffer back without a copy
 * ```ts
 * import { transfer } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * export function ramp(n: number) {
 *   const out = new Float64Array(n).map((_, i) => i);
 *   return transfer(out);
 * }
 * const marked = ramp(4);
 * assert.deepEqual(marked.list, [marked.value.buffer]);
 * ```
 */
export function transfer<T>(value: T, list?: readonly Transferable[]): Transfer<T> {
  return { [TRANSFER]: true, value, list: list ?? transferables(value) } as Transfer<T>;
}

/**
 * Whether `value` was made by `transfer()` (in any copy of this module).
 *
 * @param value What to test.
 * @returns `true` when `value` is marked for transfer.
 *
 * @example Marked and plain values
 * ```ts
 * import { isTransfer, transfer } from "./transfer.ts";
 * import assert from "node:assert/strict";
 *
 * const marked = transfer(new Uint8Array(4));
 * assert(isTransfer(marked));
 * assert(!isTransfer({ value: marked.value, list: marked.list }));
 * ```
 */
export function isTransfer(value: unknown): value is Transfer<unknown> {
  return value !== null && typeof value === "object" &&
    (value as Record<symbol, unknown>)[TRANSFER] === true;
}

/**
 * The buffers of `value` that can be transferred: an `ArrayBuffer`, the
 * buffer of a typed array or `DataView`, and those directly inside an array
 * or a plain object. Shared buffers are left out; each buffer is listed once.
 *
 * @param value Where to look.
 * @returns The buffers found.
 *
 * @example Finding buffers
 * ```ts
 * import { transferables } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const a = new Float32Array(4);
 * assert.deepEqual(transferables({ pixels: a, again: a, size: 4 }), [a.buffer]);
 * ```
 */
export function transferables(value: unknown): Transferable[] {
  const found = new Set<ArrayBuffer>();
  const add = (v: unknown) => {
    if (v instanceof ArrayBuffer) found.add(v);
    else if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) found.add(v.buffer);
  };
  add(value);
  if (Array.isArray(value)) {
    for (const v of value) add(v);
  } else if (
    value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype
  ) {
    for (const v of Object.values(value)) add(v);
  }
  return [...found];
}
