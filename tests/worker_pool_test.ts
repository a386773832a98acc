import assert from "node:assert/strict";
import { type Kernel, kernel, transfer, WorkerCrashError, WorkerPool } from "../mod.ts";
import * as k from "./fixtures/kernels.ts";
import type * as faults from "./fixtures/fault_kernels.ts";
import { eventually, sleep } from "./_util.ts";

const FIXTURE = new URL("./fixtures/kernels.ts", import.meta.url);
const FAULTS = new URL("./fixtures/fault_kernels.ts", import.meta.url);
const ref = <F extends (...args: never[]) => unknown>(name: string) => kernel<F>(FIXTURE, name);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("WorkerPool.map() gives the sequential results of a CPU-bound kernel, in order", async () => {
  await using pool = new WorkerPool({ size: 2 });
  const crunch = ref<typeof k.crunch>("crunch");
  const out = await Array.fromAsync(ReadableStream.from(range(1000)).pipeThrough(pool.map(crunch)));
  assert.deepEqual(out, range(1000).map(k.crunch));
  const stats = pool.stats();
  assert.equal(stats.tasksDone, 1000);
  assert(stats.workers.every((w) => w.tasksDone > 0), "both workers did work");
});

Deno.test("WorkerPool.map() with ordered: false gives every result once", async () => {
  await using pool = new WorkerPool({ size: 2 });
  const crunch = ref<typeof k.crunch>("crunch");
  const out = await Array.fromAsync(
    ReadableStream.from(range(1000)).pipeThrough(pool.map(crunch, { ordered: false })),
  );
  const expected = range(1000).map(k.crunch);
  assert.deepEqual([...out].sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
});

Deno.test("WorkerPool runs kernels off the main thread, sync and async", async () => {
  await using pool = new WorkerPool({ size: 1 });
  assert.equal(await pool.run(ref<typeof k.where>("where"), undefined), "worker");
  assert.equal(k.where(), "main");
  assert.equal(await pool.run(ref<typeof k.doubleLater>("doubleLater"), 21), 42);
});

Deno.test("WorkerPool transfers a 1 MiB result without copying it", async () => {
  await using pool = new WorkerPool({ size: 1 });
  const out = await pool.run(ref<typeof k.ramp>("ramp"), 5);
  assert(out instanceof Float64Array);
  assert.equal(out.byteLength, 1 << 20);
  assert.equal(out[0], 5);
  assert.equal(out[131071], 5 + 131071);
  // The worker's own buffer is detached: it moved here.
  assert.equal(await pool.run(ref<typeof k.lastRampLength>("lastRampLength"), undefined), 0);
});

Deno.test("WorkerPool transfers an input when asked, and copies it otherwise", async () => {
  await using pool = new WorkerPool({ size: 1 });
  const sum = ref<typeof k.sum>("sum");
  const copied = new Float64Array([1, 2, 3]);
  assert.equal(await pool.run(sum, copied), 6);
  assert.equal(copied.byteLength, 24);
  const moved = new Float64Array([1, 2, 3, 4]);
  assert.equal(await pool.run(sum, moved, { transfer: [moved.buffer] }), 10);
  assert.equal(moved.byteLength, 0, "the input's buffer is detached on the sending side");
  const marked = new Float64Array([5, 5]);
  assert.equal(await pool.run(sum, transfer(marked)), 10);
  assert.equal(marked.byteLength, 0, "an input marked with transfer() moves");
  const inputs = [new Float64Array([1, 1]), new Float64Array([2, 2])];
  const out = ReadableStream.from(inputs).pipeThrough(
    pool.map(sum, { transfer: (x) => [x.buffer as ArrayBuffer] }),
  );
  assert.deepEqual(await Array.fromAsync(out), [2, 4]);
  assert(inputs.every((x) => x.byteLength === 0));
});

Deno.test("a kernel's own error fails its task only, with its message and stack", async () => {
  await using pool = new WorkerPool({ size: 2 });
  const evenOnly = ref<typeof k.evenOnly>("evenOnly");
  const results = await Promise.allSettled(range(6).map((x) => pool.run(evenOnly, x)));
  assert.deepEqual(results.map((r) => r.status), [
    "fulfilled",
    "rejected",
    "fulfilled",
    "rejected",
    "fulfilled",
    "rejected",
  ]);
  const error = (results[1] as PromiseRejectedResult).reason;
  assert(error instanceof RangeError);
  assert.equal(error.message, "odd input 1");
  assert.match(error.stack ?? "", /evenOnly/);
  assert.equal(pool.stats().crashes, 0);
});

Deno.test("a missing module or export fails the first task with an error naming both", async () => {
  await using pool = new WorkerPool({ size: 1 });
  const missingModule = kernel(new URL("./fixtures/no_such_module.ts", import.meta.url), "work");
  await assert.rejects(
    pool.run(missingModule as Kernel<(x: number) => number>, 1),
    (error: unknown) => {
      assert(error instanceof TypeError);
      assert.match(error.message, /no_such_module\.ts/);
      assert.match(error.message, /"work"/);
      return true;
    },
  );
  const missingExport = ref<(x: number) => number>("noSuchExport");
  await assert.rejects(pool.run(missingExport, 1), (error: unknown) => {
    assert(error instanceof TypeError);
    assert.match(error.message, /has no export "noSuchExport"/);
    assert.match(error.message, /fixtures\/kernels\.ts/);
    return true;
  });
  const stream = ReadableStream.from([1, 2]).pipeThrough(pool.map(missingExport));
  await assert.rejects(Array.fromAsync(stream), /noSuchExport/);
});

for (
  const [name, label] of [
    ["closeOnSeven", "calls self.close()"],
    ["throwOutsideOnSeven", "throws outside its task"],
  ] as const
) {
  Deno.test(`a worker that ${label} on item 7 is replaced; only item 7 fails`, async () => {
    await using pool = new WorkerPool({ size: 2 });
    const work = ref<(x: number) => number>(name);
    const results = await Promise.allSettled(range(20).map((x) => pool.run(work, x)));
    for (const [i, result] of results.entries()) {
      if (i === 7) {
        assert.equal(result.status, "rejected");
        const error = (result as PromiseRejectedResult).reason;
        assert(error instanceof WorkerCrashError, String(error));
        assert.match(error.message, new RegExp(`"${name}" of .*kernels\\.ts`));
        assert.equal(error.kernel, `"${name}" of ${FIXTURE.href}`);
      } else {
        assert.deepEqual(result, { status: "fulfilled", value: i });
      }
    }
    const stats = pool.stats();
    assert.equal(stats.crashes, 1);
    assert.equal(stats.workers.length, 2);
    // The pool is whole again: both workers take work.
    const again = await Promise.all(
      range(8).map((x) => pool.run(ref<typeof k.square>("square"), x)),
    );
    assert.deepEqual(again, range(8).map((x) => x * x));
    await pool.close();
  });
}

Deno.test("with retries: 1 the task of a crashed worker runs again and succeeds", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  try {
    await using pool = new WorkerPool({ size: 2 });
    const work = ref<typeof k.closeOnceOnSeven>("closeOnceOnSeven");
    const out = await Array.fromAsync(
      ReadableStream.from(range(20).map((x) => ({ x, marker }))).pipeThrough(
        pool.map(work, { retries: 1 }),
      ),
    );
    assert.deepEqual(out, range(20));
    assert.equal(pool.stats().crashes, 1);
  } finally {
    await Deno.remove(marker).catch(() => {});
  }
});

Deno.test("aborting a queued run drops it; aborting a running one replaces its worker", async () => {
  await using pool = new WorkerPool({ size: 1 });
  const nap = ref<typeof k.nap>("nap");
  const busy = pool.run(nap, 50);
  const controller = new AbortController();
  const queued = pool.run(nap, 1, { signal: controller.signal });
  controller.abort(new Error("not needed"));
  await assert.rejects(queued, /not needed/);
  assert.equal(pool.stats().queued, 0);
  assert.equal(await busy, 50);
  assert.equal(pool.stats().tasksDone, 1, "the aborted task never ran");

  const spinning = new AbortController();
  const cells = new Int32Array(new SharedArrayBuffer(4));
  const stuck = pool.run(
    kernel<typeof faults.flagThenSpin>(FAULTS, "flagThenSpin"),
    cells,
    { signal: spinning.signal },
  );
  await Atomics.waitAsync(cells, 0, 0).value; // the kernel runs
  spinning.abort(new Error("too slow"));
  await assert.rejects(stuck, /too slow/);
  assert.equal(pool.stats().workers[0]!.id, 1, "a new worker took the place of the stuck one");
  assert.equal(pool.stats().crashes, 0, "an abort is not a crash");
  assert.equal(await pool.run(ref<typeof k.square>("square"), 3), 9);
});

Deno.test("an already aborted signal rejects at once", async () => {
  await using pool = new WorkerPool({ size: 1 });
  const reason = new Error("before");
  await assert.rejects(
    pool.run(ref<typeof k.square>("square"), 2, { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
});

Deno.test("cancelling a pool.map() stream stops dispatch", async () => {
  await using pool = new WorkerPool({ size: 2 });
  const nap = ref<typeof k.nap>("nap");
  const reader = ReadableStream.from(range(1000).map(() => 5)).pipeThrough(
    pool.map(nap, { concurrency: 8 }),
  )
    .getReader();
  assert.deepEqual(await reader.read(), { value: 5, done: false });
  await reader.cancel("enough");
  await eventually(
    () => pool.stats().queued === 0 && pool.stats().workers.every((w) => w.queueLength === 0),
    "the pool to drain",
  );
  const done = pool.stats().tasksDone;
  await sleep(30);
  assert.equal(pool.stats().tasksDone, done, "no task started after the cancel");
  assert(done < 20, `only a few tasks ran: ${done}`);
});

Deno.test("a bounded queue makes callers wait for room, and drops nothing", async () => {
  await using pool = new WorkerPool({ size: 1, maxQueue: 2 });
  const square = ref<typeof k.square>("square");
  const results = await Promise.all(range(50).map((x) => pool.run(square, x)));
  assert.deepEqual(results, range(50).map((x) => x * x));
});

Deno.test("close() is idempotent, rejects what is left, and the pool refuses new work", async () => {
  const pool = new WorkerPool({ size: 1 });
  const pending = pool.run(ref<typeof k.nap>("nap"), 1000);
  await pool.close();
  await pool.close();
  await assert.rejects(pending, /closed/);
  await assert.rejects(pool.run(ref<typeof k.square>("square"), 1), /closed/);
});

Deno.test("bad options and kernels are rejected with a clear message", async () => {
  assert.throws(
    () => new WorkerPool({ size: 0 }),
    (e) =>
      e instanceof RangeError &&
      /size must be a positive integer up to 1024, got 0/.test(e.message),
  );
  assert.throws(() => new WorkerPool({ size: 1.5 }), RangeError);
  assert.throws(() => new WorkerPool({ name: 3 as unknown as string }), TypeError);
  assert.throws(
    () => kernel("./relative.ts", "x"),
    (e) =>
      e instanceof TypeError &&
      /module must be a URL or an absolute URL string.*"\.\/relative\.ts"/.test(e.message),
  );
  assert.throws(() => kernel(42 as unknown as string), TypeError);
  assert.throws(
    () => kernel(FIXTURE, ""),
    (e) => e instanceof TypeError && /exportName must be a non-empty string/.test(e.message),
  );
  await using pool = new WorkerPool({ size: 1 });
  const wrong = { module: "nope", exportName: 3 } as unknown as Kernel<(x: number) => number>;
  await assert.rejects(
    pool.run(wrong, 1),
    (e) => e instanceof TypeError && /expected a kernel/.test((e as Error).message),
  );
  assert.throws(() => pool.map(wrong), TypeError);
  assert.throws(() => pool.map(ref<typeof k.square>("square"), { concurrency: 0 }), RangeError);
  await assert.rejects(pool.run(ref<typeof k.square>("square"), 1, { retries: -1 }), RangeError);
});

Deno.test("an idle pool stops its workers after idleTimeout and starts them again on demand", async () => {
  await using pool = new WorkerPool({ size: 2, idleTimeout: 20 });
  const square = ref<typeof k.square>("square");
  assert.equal(await pool.run(square, 3), 9);
  await eventually(() => pool.stats().workers.length === 0, "the idle workers to stop");
  assert.deepEqual(await Promise.all([1, 2, 3].map((x) => pool.run(square, x))), [1, 4, 9]);
  assert(pool.stats().workers.length > 0, "workers started again");
  assert.throws(() => new WorkerPool({ idleTimeout: -1 }), RangeError);
});

Deno.test("a program that never closes its pools still exits once they are idle", async () => {
  const script = new URL("./fixtures/forgot_close.ts", import.meta.url);
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.href],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(code, 0);
  assert.equal(new TextDecoder().decode(stdout).trim(), "49 number");
});
