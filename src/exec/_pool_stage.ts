// The stage `pool.map()` returns: a concurrent map whose tasks run in a
// worker pool. Its tasks form a group that is aborted at once when the
// stream stops, instead of each holding an abort listener.

import { ConcurrentStage, type SKIP } from "../stream/_concurrent.ts";
import type { Kernel } from "./kernel.ts";
import type { Task } from "./_task_queue.ts";

/** What the stage needs of its pool. */
export interface PoolLike {
  waitForRoom(signal: AbortSignal | undefined): Promise<void> | undefined;
  submit(
    k: Kernel,
    input: unknown,
    transfer: readonly Transferable[],
    retries: number,
    signal?: AbortSignal,
    group?: Set<Task>,
  ): Promise<unknown>;
  abort(task: Task, reason: unknown): void;
}

type Settings = ConstructorParameters<typeof ConcurrentStage>[1];

/** A map stage over a pool. */
export class PoolStage<I, O> extends ConcurrentStage<I, O, O> {
  readonly #pool: PoolLike;
  readonly #group: Set<Task>;

  constructor(
    pool: PoolLike,
    k: Kernel,
    pick: ((input: I) => Transferable[]) | undefined,
    retries: number,
    settings: Settings,
  ) {
    const none: readonly Transferable[] = [];
    const group = new Set<Task>();
    super((item: I, ctx) => {
      const transfer = pick === undefined ? none : pick(item);
      const room = pool.waitForRoom(ctx.signal);
      const submit = () => pool.submit(k, item, transfer, retries, undefined, group) as Promise<O>;
      return room === undefined ? submit() : room.then(submit);
    }, settings);
    this.#pool = pool;
    this.#group = group;
  }

  protected result(_item: I, value: O): O | typeof SKIP {
    return value;
  }

  protected deliver(value: O): void {
    this.emit(value);
  }

  protected override stopped(reason: unknown): void {
    super.stopped(reason);
    // A signal aborted already stops the stage inside super(): no tasks yet.
    if (!(#group in this)) return;
    for (const task of [...this.#group]) this.#pool.abort(task, reason);
  }
}
