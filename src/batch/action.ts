/**
 * The `@action` decorator: methods that chain into a batch pipeline.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { ACTION_OPTIONS } from "./options.ts";
import { markAction } from "./_symbols.ts";

/**
 * Options of `@action(...)`.
 *
 * @example Two actions that share one lock
 * ```ts
 * import { action, type ActionOptions, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * let writing = 0, most = 0;
 * const write = async () => {
 *   most = Math.max(most, ++writing);
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   writing--;
 * };
 * const disk: ActionOptions = { useLock: "disk" };
 * class Files extends Batch<number> {
 *   @action(disk) save() { return write(); }
 *   @action(disk) remove() { return write(); }
 * }
 * await new Dataset(8, Files).p.save().remove().run(2, { prefetch: 3 });
 * assert.equal(most, 1);
 * ```
 */
export interface ActionOptions {
  /**
   * `true`: one batch at a time runs this action (a lock per method); a name: one batch at a time
   * runs any of the actions sharing that name.
   *
   * @default {false}
   */
  useLock?: boolean | string;
}

/**
 * A method `@action` can decorate.
 *
 * @example A decorator of one's own that stacks with `@action`
 * ```ts
 * import { action, type ActionMethod, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const calls: string[] = [];
 * function logged<M extends ActionMethod>(method: M, context: ClassMethodDecoratorContext): M {
 *   return function (this: unknown, ...args: unknown[]) {
 *     calls.push(String(context.name));
 *     return method.apply(this, args);
 *   } as M;
 * }
 * class Rows extends Batch<number> {
 *   @action @logged load() {}
 * }
 * await new Dataset(4, Rows).p.load().run(2);
 * assert.deepEqual(calls, ["load", "load"]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export type ActionMethod = (this: any, ...args: any[]) => any;

function register<M extends ActionMethod>(method: M, name: string, options: ActionOptions): M {
  const useLock = options.useLock ?? false;
  // A wrapper, so that one function can be registered once per decoration.
  const wrapped = function (this: unknown, ...args: unknown[]) {
    return method.apply(this, args);
  } as M;
  Object.defineProperty(wrapped, "name", { value: name });
  markAction(wrapped, {
    lock: useLock === true ? wrapped : useLock === false ? undefined : useLock,
  });
  return wrapped;
}

/**
 * Marks a `Batch` method as an action: `dataset.p.name(...args)` adds it to
 * a pipeline. Use it bare (`@action`) or with options
 * (`@action({ useLock: true })`, `@action({ useLock: "disk" })`).
 *
 * @param args The method and its decorator context, or `ActionOptions`.
 * @returns The action, or a decorator.
 * @throws {TypeError} On a field or a static method, an unknown option (with the closest
 * known one) or a bad `useLock`.
 *
 * @example One batch at a time writes to disk
 * ```ts
 * import { action, Batch, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * let writing = 0, most = 0;
 * class Saved extends Batch<number> {
 *   @action({ useLock: true })
 *   async save(): Promise<void> {
 *     most = Math.max(most, ++writing);
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     writing--;
 *   }
 * }
 * await new Dataset(8, Saved).p.save().run(2, { prefetch: 3 });
 * assert.equal(most, 1);
 * ```
 */
export function action<M extends ActionMethod>(
  method: M,
  context: ClassMethodDecoratorContext,
): M;
/**
 * `@action(options)`: an action with a lock (see the bare form).
 *
 * @param options `useLock`.
 * @returns The decorator.
 * @throws {TypeError} On an unknown option (with the closest known one) or a bad `useLock`.
 */
export function action(
  options: ActionOptions,
): <M extends ActionMethod>(method: M, context: ClassMethodDecoratorContext) => M;
export function action(
  ...args: [ActionMethod, ClassMethodDecoratorContext] | [ActionOptions]
): unknown {
  if (typeof args[0] === "function") {
    const [method, context] = args as [ActionMethod, ClassMethodDecoratorContext];
    return register(method, methodName("@action", context), {});
  }
  const options = checkOptions("@action(options)", ACTION_OPTIONS, args[0] ?? {});
  return <M extends ActionMethod>(method: M, context: ClassMethodDecoratorContext): M =>
    register(method, methodName("@action", context), options);
}

/**
 * The name of the method a decorator applies to; throws a `TypeError`
 * naming `decorator` unless it is an instance method.
 */
export function methodName(decorator: string, context: ClassMethodDecoratorContext): string {
  if (context?.kind !== "method" || context.static) {
    throw new TypeError(
      `${decorator} applies to instance methods, not to ${context?.static ? "static " : ""}${
        context?.kind ?? "this"
      }`,
    );
  }
  return String(context.name);
}
