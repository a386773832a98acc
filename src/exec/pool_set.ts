/**
 * `PoolSet`: the pools a run makes for the executors it names by kind
 * (`"workers"`, `"processes"`), each made on first use and all closed
 * together. A pipeline and a batch pipeline run each hold one.
 *
 * @module
 */

import type { Pool } from "./pool_types.ts";
import { type ProcessPermissions, ProcessPool } from "./process_pool.ts";
import { WorkerPool } from "./worker_pool.ts";

/** The executors a run names by kind. */
export type PoolKind = "workers" | "processes";

/**
 * Pools made on first use, one per kind; `close()` closes them all.
 *
 * @example A worker pool made when first asked for, closed with the set
 * ```ts
 * import { PoolSet } from "./pool_set.ts";
 * import assert from "node:assert/strict";
 *
 * await using pools = new PoolSet({ name: "job", size: 2 });
 * const workers = pools.pool("workers");
 * assert.equal(pools.pool("workers"), workers);
 * assert.equal(workers.size, 2);
 * assert.equal(workers.stats().name, "job-workers");
 * ```
 */
export class PoolSet implements AsyncDisposable {
  readonly #pools = new Map<PoolKind, Pool>();
  readonly #name: string;
  readonly #size: number | undefined;
  readonly #permissions: ProcessPermissions | undefined;
  #closed = false;

  /**
   * @param options `name`: the pools are named `<name>-workers` and
   *   `<name>-processes`; `size`: their size (default: the number of
   *   cores); `permissions`: what the processes may do (nothing by default).
   */
  constructor(
    options: {
      name: string;
      size?: number | undefined;
      permissions?: ProcessPermissions | undefined;
    },
  ) {
    this.#name = options.name;
    this.#size = options.size;
    this.#permissions = options.permissions;
  }

  /**
   * The pool of `kind`, made now if it is the first call for that kind.
   *
   * @param kind `"workers"` or `"processes"`.
   * @returns The pool.
   * @throws {Error} When the set is closed.
   */
  pool(kind: PoolKind): Pool {
    if (this.#closed) throw new Error(`The pools of "${this.#name}" are closed`);
    let pool = this.#pools.get(kind);
    if (pool === undefined) {
      const name = `${this.#name}-${kind}`;
      const size = this.#size === undefined ? {} : { size: this.#size };
      pool = kind === "workers" ? new WorkerPool({ name, ...size }) : new ProcessPool({
        name,
        ...size,
        ...(this.#permissions === undefined ? {} : { permissions: this.#permissions }),
      });
      this.#pools.set(kind, pool);
    }
    return pool;
  }

  /**
   * Closes every pool made so far; later calls of `pool()` throw.
   *
   * @returns When their workers are gone.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }

  /** Closes the pools. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
