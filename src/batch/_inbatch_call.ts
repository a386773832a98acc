// How one call of an @inbatchParallel method runs: `init` gives the entries,
// the items go through one stream stage (`map` on the event loop, the one
// kernel stage on a pool), and `post` gets the results in init order. The
// stage skips failed items; its `failed` hook says which, so each failure
// takes its item's place as an `Error`. A pool target's pool is the call's
// (`inbatchOptions({ pool })`), else the run's (its own, or its `pool`),
// else the one of batches used on their own.

import { HOOKS, SPREAD, type StageHooks } from "../_internal/hooks.ts";
import { checkOptions } from "../_internal/options.ts";
import { show } from "../_internal/validate.ts";
import { isKernel, type Kernel } from "../exec/kernel.ts";
import { kernelStage } from "../exec/kernel_stage.ts";
import type { Pool, PoolMapOptions } from "../exec/pool_types.ts";
import { map } from "../stream/map.ts";
import type { MapOptions, StageStream } from "../stream/types.ts";
import type { InbatchOptions, Target } from "./inbatch_parallel.ts";
import { checkOpenBag, INBATCH_OPTIONS, INBATCH_PARALLEL_OPTIONS } from "./options.ts";
import { poolsOf } from "./_symbols.ts";
import { standalonePools } from "./_standalone_pools.ts";

// deno-lint-ignore no-explicit-any
type Method = (this: any, ...args: any[]) => any;

/** What the decorator knows: the method, its name and the options. */
export interface InbatchSpec {
  readonly name: string;
  readonly method: Method;
  readonly init: string;
  readonly post: string | undefined;
  readonly target: Target;
  readonly extra: Readonly<Record<string, unknown>>;
  /** An init entry's arguments. */
  readonly entryArgs: (entry: unknown) => readonly unknown[];
}

/** The decorator's options, checked: `init`, `post`, `target`, and the rest for init and post. */
export function decoratorOptions(options: unknown): {
  init: string;
  post: string | undefined;
  target: Target;
  extra: Record<string, unknown>;
} {
  const bag = checkOpenBag("@inbatchParallel(options)", INBATCH_PARALLEL_OPTIONS, options, [
    "init",
  ]);
  const { init, post, target = "threads", ...extra } = bag;
  return { init, post, target, extra };
}

/** Checks the options of `inbatchOptions(options)`. */
export function callOptions(options: InbatchOptions): Readonly<InbatchOptions> {
  return Object.freeze({ ...checkOptions("inbatchOptions()", INBATCH_OPTIONS, options) });
}

/** One call of a decorated method on `batch`, the marker already taken off `args`. */
export async function callInbatch(
  spec: InbatchSpec,
  batch: object,
  args: unknown[],
  options: Readonly<InbatchOptions>,
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
    pool: options.pool,
    actionArgs: args,
    items: Array.from(entries, (entry) => [...spec.entryArgs(entry), ...args]),
  });
  if (postFn === undefined) {
    throwFailures(name, results);
    return batch;
  }
  return await postFn.call(batch, results, ...args, extra);
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
  readonly target: Target;
  /** `undefined`: the target's default. */
  readonly nWorkers: number | undefined;
  /** The pool of this call (`inbatchOptions({ pool })`), before the run's. */
  readonly pool: Pool | undefined;
  readonly actionArgs: readonly unknown[];
  /** Each item's arguments: the entry's, then the action's. */
  readonly items: readonly (readonly unknown[])[];
}

/** Runs every item of `call`; a failure is an `Error` in its place, in init order. */
async function runItems(call: InbatchCall): Promise<unknown[]> {
  const { batch, method, name, target, items, nWorkers } = call;
  const cores = navigator.hardwareConcurrency ?? 1;
  if (target === "threads" || target === "async" || target === "for") {
    const concurrency = nWorkers ??
      (target === "threads" ? 4 * cores : target === "async" ? Infinity : 1);
    return await collect(
      call,
      (policy) =>
        map((args: readonly unknown[]) => method.apply(batch, [...args]), {
          ...policy,
          concurrency,
        }),
    );
  }
  // The method is called once and hands back what runs per item.
  const runner: unknown = await method.apply(batch, [...call.actionArgs]);
  if (target === "nogil") {
    if (typeof runner !== "function") {
      throw new TypeError(
        `@inbatchParallel "${name}" with target "nogil": the method must return a function (e.g. a nonblocking symbol of native()) to run per item, got ${
          show(runner)
        }`,
      );
    }
    const concurrency = nWorkers ?? cores;
    return await collect(
      call,
      (policy) => map((args: readonly unknown[]) => runner(...args), { ...policy, concurrency }),
    );
  }
  if (!isKernel(runner)) {
    throw new TypeError(
      `@inbatchParallel "${name}" with target "${target}": the method must return a kernel made by kernel(module, exportName), got ${
        show(runner)
      }`,
    );
  }
  if (items.length === 0) return [];
  // The call's pool, else the run's (its own, or the one it was given), else
  // the pools of batches used on their own. The run's signal withdraws the
  // tasks when the run ends.
  const run = poolsOf(batch);
  const pool = call.pool ??
    (run ?? standalonePools()).pool(target === "workers" ? "workers" : "processes");
  // Without nWorkers, the pool's adaptive default keeps every worker busy.
  const concurrency = nWorkers === undefined ? {} : { concurrency: nWorkers };
  const k = runner as Kernel<(args: readonly unknown[]) => unknown>;
  return await collect(call, (policy) => {
    // Each item is the kernel's argument list.
    const options = { ...policy, ...concurrency, [SPREAD]: true };
    return kernelStage(k, pool, options as PoolMapOptions<readonly unknown[]>);
  }, run?.signal);
}

/** The options every in-batch stage takes: its name, and failures collected, not fatal. */
type Policy = MapOptions & { readonly [HOOKS]: StageHooks };

/**
 * Runs `call`'s items through the stage `make` builds: results in init
 * order, each failure an `Error` in its item's place; `signal` stops the
 * stage (its tasks on a pool are withdrawn). The stage is ordered,
 * so when a result comes out, every earlier item either came out before it
 * or failed (and its `failed` hook has run): the result belongs to the first
 * item that did neither.
 */
async function collect(
  call: InbatchCall,
  make: (policy: Policy) => StageStream<readonly unknown[], unknown>,
  signal?: AbortSignal,
): Promise<unknown[]> {
  const failures = new Map<number, unknown>();
  const stage = make({
    name: call.name,
    onError: "skip",
    maxFailures: Infinity,
    ...(signal === undefined ? {} : { signal }),
    [HOOKS]: { failed: (index, error) => failures.set(index, error) },
  });
  const results: unknown[] = Array.from({ length: call.items.length });
  let next = 0;
  for await (const value of ReadableStream.from(call.items).pipeThrough(stage)) {
    while (failures.has(next)) next++;
    results[next++] = value;
  }
  for (const [i, error] of failures) {
    results[i] = error instanceof Error
      ? error
      : new Error(`@inbatchParallel "${call.name}": item ${i} threw ${show(error)}`, {
        cause: error,
      });
  }
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
