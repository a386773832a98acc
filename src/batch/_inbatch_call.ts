// How one call of an @inbatchParallel method runs: the items with at most n
// in flight, on the event loop, in a pool or through a native function, and
// what becomes of the failures.

import { isKernel, type Kernel } from "../exec/kernel.ts";
import { show } from "../_internal/validate.ts";
import { OwnedPools, type Pools, poolsOf } from "./_run_context.ts";

/** The targets, by where the items run. */
export const TARGETS = ["threads", "async", "for", "workers", "processes", "mpc", "nogil"] as const;

/** Where the items of a call run. */
export type TargetName = (typeof TARGETS)[number];

// deno-lint-ignore no-explicit-any
type Method = (this: any, ...args: any[]) => any;

/** What the decorator knows: the method, its name and the options. */
export interface InbatchSpec {
  readonly name: string;
  readonly method: Method;
  readonly init: string;
  readonly post: string | undefined;
  readonly target: TargetName;
  readonly extra: Readonly<Record<string, unknown>>;
  /** An init entry's arguments. */
  readonly entryArgs: (entry: unknown) => readonly unknown[];
}

/** One call of a decorated method on `batch`, the marker already taken off `args`. */
export async function callInbatch(
  spec: InbatchSpec,
  batch: object,
  args: unknown[],
  options: { readonly nWorkers?: number; readonly target?: TargetName },
): Promise<unknown> {
  const { name, init, post } = spec;
  const initFn = methodOf(batch, init, "init", name);
  const postFn = post === undefined ? undefined : methodOf(batch, post, "post", name);
  const extra = { ...spec.extra };
  const entries: unknown = await initFn.call(batch, ...args, extra);
  if (!isIterable(entries)) {
    throw new TypeError(
      `@inbatchParallel "${name}": init "${init}" must return an iterable of entries (an array, a Set...), got ${
        show(entries)
      }`,
    );
  }
  const results = await runItems({
    batch,
    method: spec.method,
    name,
    target: options.target ?? spec.target,
    nWorkers: options.nWorkers,
    actionArgs: args,
    items: Array.from(entries, (entry) => [...spec.entryArgs(entry), ...args]),
  });
  if (postFn === undefined) {
    throwFailures(name, results);
    return batch;
  }
  return await postFn.call(batch, results, ...args, extra);
}

/** The decorator's options, checked: `init`, `post`, `target` and the rest. */
export function checkOptions(options: unknown): {
  init: string;
  post: string | undefined;
  target: TargetName;
  extra: Record<string, unknown>;
} {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      `@inbatchParallel(options): options must be an object, got ${show(options)}`,
    );
  }
  const { init, post, target = "threads", ...extra } = options as Record<string, unknown>;
  if (typeof init !== "string" || init === "") {
    throw new TypeError(
      `@inbatchParallel(options): init must be the name of a batch method, got ${show(init)}`,
    );
  }
  if (post !== undefined && (typeof post !== "string" || post === "")) {
    throw new TypeError(
      `@inbatchParallel(options): post must be the name of a batch method, got ${show(post)}`,
    );
  }
  return { init, post, target: checkTarget("@inbatchParallel(options)", target), extra };
}

/** The decorated method's name; throws unless it is an instance method. */
export function checkContext(context: ClassMethodDecoratorContext): string {
  if (context?.kind !== "method" || context.static) {
    throw new TypeError(
      `@inbatchParallel applies to instance methods, not to ${context?.static ? "static " : ""}${
        context?.kind ?? "this"
      }`,
    );
  }
  return String(context.name);
}

/** Checks `inbatchOptions(options)`. */
export function checkCallOptions(options: unknown): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`inbatchOptions(): options must be an object, got ${show(options)}`);
  }
  const { nWorkers, target } = options as Record<string, unknown>;
  if (
    nWorkers !== undefined && !(Number.isInteger(nWorkers) && (nWorkers as number) >= 1) &&
    nWorkers !== Infinity
  ) {
    const message = `inbatchOptions(): nWorkers must be a positive integer or Infinity, got ${
      show(nWorkers)
    }`;
    throw typeof nWorkers === "number" ? new RangeError(message) : new TypeError(message);
  }
  if (target !== undefined) checkTarget("inbatchOptions()", target);
}

/** Throws a `TypeError` naming `what` unless `target` is a target. */
function checkTarget(what: string, target: unknown): TargetName {
  if (!(TARGETS as readonly unknown[]).includes(target)) {
    throw new TypeError(
      `${what}: target must be one of ${TARGETS.map((t) => `"${t}"`).join(", ")}, got ${
        show(target)
      }`,
    );
  }
  return target as TargetName;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

function methodOf(batch: object, key: string, role: string, name: string): Method {
  if (batch === null || typeof batch !== "object") {
    throw new TypeError(`@inbatchParallel "${name}" must be called on a batch, got ${show(batch)}`);
  }
  const fn = (batch as Record<string, unknown>)[key];
  if (typeof fn !== "function") {
    throw new TypeError(
      `@inbatchParallel "${name}": ${role} "${key}" is not a method of ${batch.constructor.name}, got ${
        show(fn)
      }`,
    );
  }
  return fn as Method;
}

/** One call: the batch, the method, its name, and every item's arguments. */
interface InbatchCall {
  readonly batch: object;
  readonly method: Method;
  readonly name: string;
  readonly target: TargetName;
  /** `undefined`: the target's default. */
  readonly nWorkers: number | undefined;
  readonly actionArgs: readonly unknown[];
  /** Each item's arguments: the entry's, then the action's. */
  readonly items: readonly (readonly unknown[])[];
}

/** What a kernel receives for an item: the only argument, or the list of them. */
export function kernelInput(args: readonly unknown[]): unknown {
  return args.length === 1 ? args[0] : [...args];
}

/** Runs every item of `call`; a failure is an `Error` in its place, in init order. */
async function runItems(call: InbatchCall): Promise<unknown[]> {
  const { batch, method, name, target, items } = call;
  const cores = navigator.hardwareConcurrency ?? 1;
  if (target === "threads" || target === "async" || target === "for") {
    const limit = call.nWorkers ??
      (target === "threads" ? 4 * cores : target === "async" ? Infinity : 1);
    return await limited(items.length, limit, name, (i) => method.call(batch, ...items[i]!));
  }
  // The method is called once and hands back what runs per item.
  const runner: unknown = await method.call(batch, ...call.actionArgs);
  if (target === "nogil") {
    if (typeof runner !== "function") {
      throw new TypeError(
        `@inbatchParallel "${name}" with target "nogil": the method must return a function (e.g. a nonblocking symbol of native()) to run per item, got ${
          show(runner)
        }`,
      );
    }
    return await limited(items.length, call.nWorkers ?? cores, name, (i) => runner(...items[i]!));
  }
  if (!isKernel(runner)) {
    throw new TypeError(
      `@inbatchParallel "${name}" with target "${target}": the method must return a kernel made by kernel(module, exportName), got ${
        show(runner)
      }`,
    );
  }
  if (items.length === 0) return [];
  const bound = poolsOf(batch);
  const owned = bound === undefined ? new OwnedPools() : undefined;
  try {
    return await onPool(owned ?? bound as Pools, runner, call);
  } finally {
    await owned?.close();
  }
}

function onPool(pools: Pools, k: Kernel, call: InbatchCall): Promise<unknown[]> {
  const pool = pools.pool(call.target === "workers" ? "workers" : "processes");
  const items = call.items;
  return limited(
    items.length,
    call.nWorkers ?? pool.size,
    call.name,
    (i) => pool.run(k as Kernel<(input: unknown) => unknown>, kernelInput(items[i]!)),
  );
}

/** Runs `task(0..count-1)`, at most `limit` at once; results in index order. */
async function limited(
  count: number,
  limit: number,
  name: string,
  task: (i: number) => unknown,
): Promise<unknown[]> {
  const results: unknown[] = Array.from({ length: count });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      try {
        results[i] = await task(i);
      } catch (error) {
        results[i] = error instanceof Error
          ? error
          : new Error(`@inbatchParallel "${name}": item ${i} threw ${show(error)}`, {
            cause: error,
          });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

/** Without `post`: throws the failure, or an `AggregateError` of several. */
function throwFailures(name: string, results: readonly unknown[]): void {
  const failures = results.filter((r): r is Error => r instanceof Error);
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new AggregateError(
      failures,
      `@inbatchParallel "${name}": ${failures.length} of ${results.length} items failed; the first: ${
        failures[0]!.message
      }`,
    );
  }
}
