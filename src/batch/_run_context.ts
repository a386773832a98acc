// The pools a batch's in-batch-parallel actions use: those of the pipeline
// run that holds the batch (closed when the run ends), or, for a batch used
// on its own, pools made for one call and closed after it.

import type { Pool } from "../exec/pool_types.ts";
import { ProcessPool } from "../exec/process_pool.ts";
import { WorkerPool } from "../exec/worker_pool.ts";

/** Where `workers` and `processes` targets run. */
export interface Pools {
  pool(kind: "workers" | "processes"): Pool;
}

/** Pools made on first use; `close()` closes them all. */
export class OwnedPools implements Pools {
  readonly #pools = new Map<string, Pool>();
  #closed = false;

  pool(kind: "workers" | "processes"): Pool {
    if (this.#closed) throw new Error("The batch pipeline's pools are closed");
    let pool = this.#pools.get(kind);
    if (pool === undefined) {
      pool = kind === "workers"
        ? new WorkerPool({ name: "batch-workers" })
        : new ProcessPool({ name: "batch-processes" });
      this.#pools.set(kind, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}

const bound = new WeakMap<object, Pools>();

/** Gives `batch` the pools of the run that holds it. */
export function bindPools(batch: object, pools: Pools): void {
  bound.set(batch, pools);
}

/** The pools of the run holding `batch`, if any. */
export function poolsOf(batch: object): Pools | undefined {
  return bound.get(batch);
}
