// The home of the pools that in-batch calls use when their batch is in no
// pipeline run: one set for the whole program, made on first use, so that a
// batch used on its own does not start and stop a pool per call. A program
// that never closes them still exits: their workers stop on their own once
// idle for the pools' `idleTimeout`. `closeStandalonePools()` closes them at
// once (the next call makes new ones).

import { PoolSet } from "../exec/pool_set.ts";

let shared: PoolSet | undefined;

/** The pools of in-batch calls outside a run, made now if need be. */
export function standalonePools(): PoolSet {
  return shared ??= new PoolSet({ name: "inbatch" });
}

/** Closes the standalone pools, if any were made; later calls make new ones. */
export async function closeStandalonePools(): Promise<void> {
  const pools = shared;
  shared = undefined;
  await pools?.close();
}
