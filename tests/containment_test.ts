// What a fault can take down. A segfault in native code or a heap that runs
// out ends the whole process in Deno (Web Workers share it), so these run
// only in a ProcessPool, which contains them: the item fails with
// WorkerCrashError, the child is replaced, every other item comes out.

import assert from "node:assert/strict";
import { type Kernel, kernel, ProcessPool, WorkerCrashError } from "../mod.ts";
import type * as k from "./fixtures/containment_kernels.ts";
import { buildKernels } from "./_native.ts";

const FIXTURE = new URL("./fixtures/containment_kernels.ts", import.meta.url);

/** Runs 0..5 through `pool`, as `input(x)`; the outcome of each item, in order. */
async function outcomes<I>(
  pool: ProcessPool,
  ref: Kernel<(input: I) => number>,
  input: (x: number) => I,
): Promise<(number | Error)[]> {
  const runs = [0, 1, 2, 3, 4, 5].map((x) =>
    pool.run(ref, input(x)).catch((error: Error) => error)
  );
  return await Promise.all(runs);
}

function assertContained(out: (number | Error)[], pool: ProcessPool, why: RegExp): void {
  const crash = out[3];
  assert(crash instanceof WorkerCrashError, `item 3: ${crash}`);
  assert.match(crash.message, why);
  assert.deepEqual(out.filter((x) => typeof x === "number"), [0, 1, 2, 4, 5]);
  const stats = pool.stats();
  assert(stats.crashes >= 1, `crashes counted: ${stats.crashes}`);
}

Deno.test("a ProcessPool contains a segfault in a native call: that item fails, the rest come out", async () => {
  await using built = await buildKernels();
  await using pool = new ProcessPool({ size: 2, permissions: { ffi: true } });
  const ref = kernel<typeof k.segfaultOn3>(FIXTURE, "segfaultOn3");
  const out = await outcomes(pool, ref, (x) => ({ lib: built.path, x }));
  assertContained(out, pool, /killed by SIGSEGV/);
  assert.equal(await pool.run(ref, { lib: built.path, x: 7 }), 7, "the pool still works");
  assert.equal(pool.stats().workers.length, 2, "the pool did not shrink");
});

Deno.test("a ProcessPool contains a kernel that runs out of memory: that item fails, the rest come out", async () => {
  // A small heap for the children (they inherit the environment) keeps the test quick.
  const before = Deno.env.get("DENO_V8_FLAGS");
  Deno.env.set("DENO_V8_FLAGS", "--max-old-space-size=96");
  try {
    await using pool = new ProcessPool({ size: 2 });
    const ref = kernel<typeof k.hogOn3>(FIXTURE, "hogOn3");
    const out = await outcomes(pool, ref, (x) => x);
    assertContained(out, pool, /out of memory/);
    assert.equal(await pool.run(ref, 8), 8, "the pool still works");
  } finally {
    if (before === undefined) Deno.env.delete("DENO_V8_FLAGS");
    else Deno.env.set("DENO_V8_FLAGS", before);
  }
});
