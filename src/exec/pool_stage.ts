// (Not exported from mod.ts: a pool of another module, such as the NATS
// pool, builds its stage here too.)
// The stage a kernel on a pool becomes, whichever front-end asked for it
// (`pool.map`, a builder's `pipe`, a YAML stage, Operations, an in-batch
// target): the stream layer's one concurrent stage, whose tasks submit to
// the pool. The pool steers it through hooks: it admits tasks while the
// pool wants more of that kernel (the adaptive default), and when the
// stream stops it aborts the stage's tasks as one group instead of each
// holding an abort listener. An adaptive stage's statistics report the
// pool's workers as its concurrency. With `concurrency: "auto"` the stage
// tunes its own limit (see ../stream/map.ts) and the pool's room rule bounds
// it: never more tasks than keep the pool's workers busy.

import { type Hooked, HOOKS, hooksOf, type StageHooks } from "../_internal/hooks.ts";
import { AUTO } from "../_internal/options.ts";
import { map } from "../stream/map.ts";
import type { MapOptions, StageStream } from "../stream/types.ts";
import type { Kernel } from "./kernel.ts";
import { isTransfer } from "./transfer.ts";
import type { Task } from "./_task_queue.ts";

/** How a task is submitted (`T`: the pool's own record of a task). */
export interface Submission<T = Task> {
  readonly transfer: readonly Transferable[];
  readonly retries: number;
  /** The input is the list of the kernel's arguments. */
  readonly spread: boolean;
  /** Aborts this task. */
  readonly signal?: AbortSignal | undefined;
  /** Collects tasks that a stream aborts together. */
  readonly group?: Set<T> | undefined;
}

/**
 * Ties a submitted task to what may abort it: its own `signal` (a listener
 * of its own), or else the stage's `group` (aborted together). Returns what
 * undoes it when the task settles.
 */
export function bindAbort<T>(
  task: T,
  how: Submission<T>,
  abort: (task: T, reason: unknown) => void,
): (() => void) | undefined {
  const { signal, group } = how;
  if (signal !== undefined) {
    const onAbort = () => abort(task, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    return () => signal.removeEventListener("abort", onAbort);
  }
  if (group === undefined) return undefined;
  group.add(task);
  return () => group.delete(task);
}

/** What the stage needs of its pool (`T`: the pool's own record of a task). */
export interface PoolLike<T = Task> {
  waitForRoom(signal: AbortSignal | undefined): Promise<void> | undefined;
  submit(k: Kernel, input: unknown, how: Submission<T>): Promise<unknown>;
  abort(task: T, reason: unknown): void;
  /** How many tasks of a kernel (by `module#export`) keep the pool busy. */
  wanted(key: string): number;
  /** How many workers run tasks now: an adaptive stage reports it as its concurrency. */
  workers(): number;
}

/** How a kernel stage runs its items, besides `MapOptions`. */
export interface KernelCall<I> {
  /** Picks the buffers to move with each input. */
  readonly pick: ((input: I) => Transferable[]) | undefined;
  readonly retries: number;
  /** Each input is the list of the kernel's arguments. */
  readonly spread: boolean;
  /** No `concurrency` was given: the pool decides how many run at once. */
  readonly adaptive: boolean;
}

/** A map stage over a pool; `options` are checked `MapOptions` (hooks allowed). */
export function poolStage<I, O, T = Task>(
  pool: PoolLike<T>,
  k: Kernel,
  call: KernelCall<I>,
  options: Hooked<MapOptions>,
): StageStream<I, O> {
  const none: readonly Transferable[] = [];
  const group = new Set<T>();
  const { pick, retries, spread } = call;
  const given = hooksOf(options);
  const auto = options.concurrency === AUTO;
  const key = call.adaptive || auto ? k.module + "#" + k.exportName : undefined;
  const room = given?.room;
  const hooks: StageHooks = {
    ...given,
    ...(key === undefined ? {} : {
      room: (active: number) => active < pool.wanted(key) && (room === undefined || room(active)),
    }),
    // An adaptive stage reports the pool's workers; a tuned one, its own limit.
    ...(call.adaptive ? { concurrency: () => pool.workers() } : {}),
    stopped: (reason) => {
      given?.stopped?.(reason);
      for (const task of [...group]) pool.abort(task, reason);
    },
  };
  const task = (item: I, ctx: { signal: AbortSignal }) => {
    let input: unknown = item;
    let transfer = pick === undefined ? none : pick(item);
    if (isTransfer(item)) {
      input = item.value;
      transfer = [...transfer, ...item.list];
    }
    const how: Submission<T> = { transfer, retries, spread, group };
    const wait = pool.waitForRoom(ctx.signal);
    const submit = () => pool.submit(k, input, how) as Promise<O>;
    return wait === undefined ? submit() : wait.then(submit);
  };
  return map<I, O>(task, { ...options, [HOOKS]: hooks } as MapOptions);
}
