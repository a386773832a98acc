/**
 * Kernels: typed references to module exports, the unit of work that runs
 * off the main thread.
 *
 * @module
 */

import { show } from "../_internal/validate.ts";

/**
 * Metadata for the front-end that runs the kernel: a plain object that
 * `kernel()` copies and freezes, and that the pools carry without reading.
 * Which keys mean something, and which are mistakes, is that front-end's
 * business (it documents and checks its own).
 *
 * @example Metadata travels with the kernel, frozen
 * ```ts
 * import { kernel, type KernelMeta } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const meta: KernelMeta = { owner: "resize", priority: 2 };
 * const k = kernel(new URL("../../tests/fixtures/kernels.ts", import.meta.url), "square", meta);
 * assert.deepEqual(k.meta, { owner: "resize", priority: 2 });
 * assert.notEqual(k.meta, meta);
 * assert(Object.isFrozen(k.meta));
 * ```
 */
export type KernelMeta = Readonly<Record<string, unknown>>;

/**
 * A reference to an export of a module: what a worker or a process imports
 * and calls. Functions never cross threads; a kernel names where one lives.
 *
 * @typeParam F The export's function type, for typed call sites.
 *
 * @example A typed kernel: the pool's result type follows from it
 * ```ts
 * import { kernel, type Kernel, WorkerPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square: Kernel<(x: number) => number> = kernel(
 *   new URL("../../tests/fixtures/kernels.ts", import.meta.url),
 *   "square",
 * );
 * await using pool = new WorkerPool({ size: 1 });
 * const result: number = await pool.run(square, 5);
 * assert.equal(result, 25);
 * ```
 */
export interface Kernel<F extends (...args: never[]) => unknown = (...args: never[]) => unknown> {
  /** The module's absolute URL. */
  readonly module: string;
  /** The export's name (`"default"` for a default export). */
  readonly exportName: string;
  /** Metadata given at creation. */
  readonly meta: KernelMeta;
  /** Never set: carries `F` for type inference only. */
  readonly signature?: F;
}

/**
 * Makes a kernel: a typed reference to `exportName` of `module`. The
 * export may be sync or async. `module` must be an absolute URL, usually
 * `new URL("./kernels.ts", import.meta.url)`; the module is imported once
 * per worker, the first time a task needs it.
 *
 * @typeParam F The export's type, e.g. `typeof import("./kernels.ts").resize`.
 * @param module The module's URL.
 * @param exportName The export's name.
 * @param meta Metadata for the front-end that runs the kernel.
 * @returns The kernel reference.
 * @throws {TypeError} When `module` is not an absolute URL, or `exportName` or `meta` has the wrong type.
 *
 * @example A reference to a kernel
 * ```ts
 * import { kernel } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const square = kernel<(x: number) => number>(new URL("./kernels.ts", import.meta.url), "square");
 * assert.equal(square.exportName, "square");
 * assert(square.module.endsWith("/kernels.ts"));
 * ```
 */
export function kernel<F extends (...args: never[]) => unknown>(
  module: string | URL,
  exportName: string = "default",
  meta: KernelMeta = {},
): Kernel<F> {
  let url: URL;
  if (module instanceof URL) {
    url = module;
  } else if (typeof module === "string" && URL.canParse(module)) {
    url = new URL(module);
  } else {
    throw new TypeError(
      `Cannot create kernel: module must be a URL or an absolute URL string (e.g. new URL("./kernels.ts", import.meta.url)), got ${
        show(module)
      }`,
    );
  }
  if (typeof exportName !== "string" || exportName === "") {
    throw new TypeError(
      `Cannot create kernel: exportName must be a non-empty string, got ${show(exportName)}`,
    );
  }
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
    throw new TypeError(`Cannot create kernel: meta must be an object, got ${show(meta)}`);
  }
  return Object.freeze({ module: url.href, exportName, meta: Object.freeze({ ...meta }) });
}

/**
 * Whether `value` has the shape of a kernel: an absolute `module` URL, a
 * non-empty `exportName` and a `meta` object.
 *
 * @param value What to test.
 * @returns `true` when `value` is a kernel.
 *
 * @example Kernels, and things that are not
 * ```ts
 * import { isKernel, kernel } from "./kernel.ts";
 * import assert from "node:assert/strict";
 *
 * assert(isKernel(kernel(new URL("../../tests/fixtures/kernels.ts", import.meta.url), "square")));
 * assert(!isKernel({ module: "./kernels.ts", exportName: "square", meta: {} }));
 * assert(!isKernel((x: number) => x * x));
 * ```
 */
export function isKernel(value: unknown): value is Kernel {
  if (value === null || typeof value !== "object") return false;
  const k = value as Record<string, unknown>;
  return typeof k.module === "string" && URL.canParse(k.module) &&
    typeof k.exportName === "string" && k.exportName !== "" &&
    k.meta !== null && typeof k.meta === "object";
}

/**
 * Checks that `value` is a kernel, for functions that take one.
 *
 * @param what The start of the error message, e.g. `"Cannot run task"`.
 * @param value What to check.
 * @returns `value`, typed as a kernel.
 * @throws {TypeError} When `value` is not a kernel, with a message that starts with `what`.
 *
 * @example Checking an argument
 * ```ts
 * import { checkKernel, kernel } from "./kernel.ts";
 * import assert from "node:assert/strict";
 *
 * const square = kernel(new URL("../../tests/fixtures/kernels.ts", import.meta.url), "square");
 * assert.equal(checkKernel("Cannot run task", square), square);
 * assert.throws(
 *   () => checkKernel("Cannot run task", "square"),
 *   { name: "TypeError", message: /^Cannot run task: expected a kernel .*, got "square"$/ },
 * );
 * ```
 */
export function checkKernel(what: string, value: unknown): Kernel {
  if (!isKernel(value)) {
    throw new TypeError(
      `${what}: expected a kernel made by kernel(module, exportName), got ${show(value)}`,
    );
  }
  return value;
}

/** A kernel's name in messages: `export` of `module`. */
export function kernelName(k: Kernel): string {
  return `"${k.exportName}" of ${k.module}`;
}
