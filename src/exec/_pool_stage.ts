// The stage `pool.map()` returns: a concurrent map whose tasks run in a
// worker pool. Its tasks form a group that is aborted at once when the
// stream stops, instead of each holding an abort listener.

import { ConcurrentStage, type SKIP } from "../stream/_concurrent.ts";
import type { Kernel } from "./kernel.ts";
import { isTransfer } from "./transfer.ts";
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
  /** How many tasks of a kernel (by `module#export`) keep the pool busy. */
  wanted(key: string): number;
}

type Settings = ConstructorParameters<typeof ConcurrentStage>[1];

/** A map stage over a pool. */
export class PoolStage<I, O> extends ConcurrentStage<I, O, O> {
  readonly #pool: PoolLike;
  readonly #group: Set<Task>;
  /** The kernel's key, when the pool decides how many tasks run at once. */
  readonly #adaptive: string | undefined;

  constructor(
    pool: PoolLike,
    k: Kernel,
    pick: ((input: I) => Transferable[]) | undefined,
    retries: number,
    settings: Settings,
    adaptive: boolean,
  ) {
    const none: readonly Transferable[] = [];
    const group = new Set<Task>();
    super((item: I, ctx) => {
      let input: unknown = item;
      let transfer = pick === undefined ? none : pick(item);
      if (isTransfer(item)) {
        input = item.value;
        transfer = [...transfer, ...item.list];
      }
      const room = pool.waitForRoom(ctx.signal);
      const submit = () => pool.submit(k, input, transfer, retries, undefined, group) as Promise<O>;
      return room === undefined ? submit() : room.then(submit);
    }, settings);
    this.#pool = pool;
    this.#group = group;
    this.#adaptive = adaptive ? k.module + "#" + k.exportName : undefined;
  }

  protected override hasRoom(): boolean {
    if (!super.hasRoom()) return false;
    return this.#adaptive === undefined || this.active < this.#pool.wanted(this.#adaptive);
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
