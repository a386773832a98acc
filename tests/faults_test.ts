// Faults in the exec layer: kernels that exit, close their worker, read the
// pool's channel, or get aborted. None may hang, blame the wrong task or
// shrink a pool, whichever front-end runs them.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  kernel,
  nativePool,
  Operations,
  PipelineBuilder,
  PipelineFailure,
  ProcessPool,
  StageError,
  WorkerCrashError,
  WorkerPool,
} from "../mod.ts";
import { Batch } from "../src/batch/batch.ts";
import { inbatchParallel } from "../src/batch/inbatch_parallel.ts";
import type { Kernel } from "../src/exec/kernel.ts";
import type * as k from "./fixtures/fault_kernels.ts";
import { crunch } from "./fixtures/process_kernels.ts";

const FAULTS = new URL("./fixtures/fault_kernels.ts", import.meta.url);
const EXIT_ON_LOAD = new URL("./fixtures/exit_on_load.ts", import.meta.url);
const SQUARE = kernel<(x: number) => number>(
  new URL("./fixtures/kernels.ts", import.meta.url),
  "square",
);
const CRUNCH = kernel<(x: number) => number>(
  new URL("./fixtures/process_kernels.ts", import.meta.url),
  "crunch",
);
const fault = <F extends (...args: never[]) => unknown>(name: string) => kernel<F>(FAULTS, name);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Asserts that only item `bad` of `results` failed, with a WorkerCrashError matching `why`. */
function onlyOneCrashed(results: PromiseSettledResult<number>[], bad: number, why: RegExp): void {
  for (const [i, result] of results.entries()) {
    if (i !== bad) {
      assert.deepEqual(result, { status: "fulfilled", value: i }, `item ${i}`);
      continue;
    }
    assert.equal(result.status, "rejected", `item ${bad} must fail`);
    const error = (result as PromiseRejectedResult).reason;
    assert(error instanceof WorkerCrashError, String(error));
    assert.match(error.message, why);
  }
}

/** The errors in `error`'s chain of causes, itself first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && !chain.includes(e); e = (e as Error).cause) chain.push(e);
  return chain;
}

/** Resolves once `path` exists and is not empty (a kernel wrote it), checking every 10 ms. */
async function fileWritten(path: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const size = await Deno.stat(path).then((s) => s.size, () => 0);
    if (size > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${path} to be written`);
}

// Item 1: Deno.exit() in a WorkerPool kernel is a crash like any other.

for (
  const [name, why] of [
    ["exitOnSeven", /the kernel called Deno\.exit\(3\)/],
    ["processExitOnSeven", /the kernel called Deno\.exit\(4\)/],
  ] as const
) {
  Deno.test(`WorkerPool: a kernel whose ${name} exits fails item 7 only, with batches of many; the pool stays whole`, async () => {
    await using pool = new WorkerPool({ size: 2 });
    const work = fault<(x: number) => number>(name);
    // Warm up: once the kernel's time is known, many items travel per message.
    const warm = range(200).map((x) => x + 8);
    assert.deepEqual(await Promise.all(warm.map((x) => pool.run(work, x))), warm);
    const results = await Promise.allSettled(range(40).map((x) => pool.run(work, x)));
    onlyOneCrashed(results, 7, why);
    const stats = pool.stats();
    assert.equal(stats.crashes, 1);
    assert.equal(stats.workers.length, 2, "the pool never shrinks");
    assert.deepEqual(
      await Promise.all(range(8).map((x) => pool.run(SQUARE, x))),
      range(8).map((x) => x * x),
    );
  });
}

Deno.test("WorkerPool: pool.run() of a kernel that calls Deno.exit(3) settles, as a WorkerCrashError", async () => {
  await using pool = new WorkerPool({ size: 1 });
  await assert.rejects(pool.run(fault<typeof k.exitOnSeven>("exitOnSeven"), 7), (e: unknown) => {
    assert(e instanceof WorkerCrashError);
    assert.equal(e.workerId, 0);
    assert.match(
      e.message,
      /"exitOnSeven" of .*fault_kernels\.ts: the kernel called Deno\.exit\(3\)/,
    );
    return true;
  });
  assert.equal(pool.stats().crashes, 1);
  assert.equal(pool.stats().workers[0]!.id, 1, "a new worker took its place");
  assert.equal(await pool.run(SQUARE, 5), 25);
});

Deno.test("WorkerPool: pool.map() over a kernel that exits ends with the crash, or with retries runs it again", async () => {
  await using pool = new WorkerPool({ size: 2 });
  await assert.rejects(
    Array.fromAsync(
      ReadableStream.from(range(20)).pipeThrough(
        pool.map(fault<typeof k.exitOnSeven>("exitOnSeven")),
      ),
    ),
    (e: unknown) => {
      const crash = causes(e).find((c) => c instanceof WorkerCrashError);
      assert(crash instanceof WorkerCrashError, String(e));
      assert.match(crash.message, /Deno\.exit\(3\)/);
      return true;
    },
  );
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  try {
    const before = pool.stats().crashes;
    const out = await Array.fromAsync(
      ReadableStream.from(range(20).map((x) => ({ x, marker }))).pipeThrough(
        pool.map(fault<typeof k.exitOnceOnSeven>("exitOnceOnSeven"), { retries: 1 }),
      ),
    );
    assert.deepEqual(out, range(20));
    assert.equal(pool.stats().crashes, before + 1);
    assert.equal(pool.stats().workers.length, 2);
  } finally {
    await Deno.remove(marker).catch(() => {});
  }
});

/** Runs 0..2 on the module that exits as it loads: each fails, naming it; one crash. */
async function moduleExitFailsItems(
  pool: WorkerPool | ProcessPool,
): Promise<Kernel<(x: number) => number>> {
  const work = kernel<(x: number) => number>(EXIT_ON_LOAD, "work");
  const results = await Promise.allSettled(range(3).map((x) => pool.run(work, x)));
  for (const result of results) {
    assert.equal(result.status, "rejected");
    const error = (result as PromiseRejectedResult).reason;
    assert(error instanceof TypeError, String(error));
    assert.match(error.message, /Cannot load kernel "work"/);
    assert.match(error.message, /exit_on_load\.ts/);
    assert.match(error.message, /called Deno\.exit\(3\) as it loaded/);
  }
  assert.equal(pool.stats().crashes, 1);
  return work;
}

Deno.test("WorkerPool: a kernel module whose top level exits fails its items naming the module; other kernels still run", async () => {
  await using pool = new WorkerPool({ size: 1 });
  const work = await moduleExitFailsItems(pool);
  assert.equal(await pool.run(SQUARE, 6), 36);
  const [worker] = pool.stats().workers;
  assert.equal(worker?.id, 1, "a replacement worker runs the other kernel");
  // The module stays unloadable; it does not take the pool down again.
  await assert.rejects(pool.run(work, 4), /exit_on_load\.ts/);
  assert.equal(pool.stats().crashes, 1);
});

Deno.test("pipe(kernel) in a pipeline: a kernel that exits fails its item instead of hanging", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource(range(20))
    .pipe(fault<typeof k.exitOnSeven>("exitOnSeven"), { name: "exits", outputOrder: "input" })
    .addSink()
    .build({ numThreads: 2 });
  await assert.rejects(Array.fromAsync(pipeline), (e: unknown) => {
    assert(e instanceof PipelineFailure, String(e));
    assert.equal(e.errors.length, 1);
    assert.equal(e.errors[0]!.index, 7);
    const cause = e.errors[0]!.cause;
    assert(cause instanceof WorkerCrashError, String(cause));
    assert.match(cause.message, /the kernel called Deno\.exit\(3\)/);
    return true;
  });
});

for (const stateful of [false, true]) {
  Deno.test(`Operations: an operation (stateful: ${stateful}) that exits ends the stream with an error naming it and the item`, async () => {
    const op = kernel(FAULTS, "exitOnSeven", { stateful });
    await using ops = new Operations<number, number>([op], { nCpu: 2 });
    await assert.rejects(Array.fromAsync(ops.apply(range(20))), (e: unknown) => {
      assert(e instanceof StageError, String(e));
      assert.equal(e.stage, "exitOnSeven");
      assert.equal(e.index, 7);
      assert.match(e.message, /the kernel called Deno\.exit\(3\)/);
      return true;
    });
    const stats = ops.stats();
    assert.equal(stats.operations[0]!.runs, stateful ? "dedicated worker" : "pool");
    const pool = stateful ? stats.dedicated[0] : stats.pool;
    assert.equal(pool?.crashes, 1);
    assert.equal(pool?.closed, true, "its workers are closed");
  });
}

Deno.test("inbatchParallel() with target workers: a kernel that exits puts a WorkerCrashError in place of its item", async () => {
  class Exiting extends Batch<number> {
    out: unknown[] = [];
    _init(): readonly number[] {
      return this.indices;
    }
    _post(results: unknown[]): this {
      this.out = results;
      return this;
    }
    @inbatchParallel({ init: "_init", post: "_post", target: "workers" })
    work(): Kernel {
      return fault("exitOnSeven");
    }
  }
  const batch = new Exiting(range(12));
  await batch.work();
  for (const [i, value] of batch.out.entries()) {
    if (i !== 7) assert.equal(value, i);
  }
  assert(batch.out[7] instanceof WorkerCrashError, String(batch.out[7]));
  assert.match(batch.out[7].message, /Deno\.exit\(3\)/);
});

Deno.test("cli run: a kernel that exits on the default worker target makes the run fail (exit 1), not hang", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conveyor_faults_" });
  try {
    await Deno.copyFile(FAULTS, `${dir}/fault_kernels.ts`);
    const rows = range(20).map((id) => JSON.stringify({ id }) + "\n").join("");
    await Deno.writeTextFile(`${dir}/input.jsonl`, rows);
    await Deno.writeTextFile(
      `${dir}/spec.yaml`,
      `source: { jsonl: ./input.jsonl }
stages:
  - map: ./fault_kernels.ts#exitOnRowSeven
    name: exits
sink: { jsonl: ./out.jsonl }
options: { maxFailures: 0, numThreads: 2 }
`,
    );
    const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
    const ran = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", cli, "run", "spec.yaml", "--no-progress", "--no-stats"],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(ran.stderr);
    assert.equal(ran.code, 1, stderr);
    assert.match(stderr, /stage "exits"/);
    assert.match(stderr, /item 7: .*the kernel called Deno\.exit\(3\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Item 2: ProcessPool children: close() and exits blame the right task;
// stdin is the pool's channel and a kernel cannot read it.

for (
  const [name, why] of [
    ["closeOnSeven", /the kernel called close\(\)/],
    ["exitOnSeven", /the kernel called Deno\.exit\(3\)/],
    ["processExitOnSeven", /the kernel called Deno\.exit\(4\)/],
  ] as const
) {
  Deno.test(`ProcessPool: ${name} fails item 7 itself, not a later item, with batches of many`, async () => {
    await using pool = new ProcessPool({ size: 2 });
    const work = fault<(x: number) => number>(name);
    // Warm up: once the kernel's time is known, many items travel per batch.
    assert.deepEqual(
      await Promise.all(range(200).map((x) => pool.run(work, x + 8))),
      range(200).map((x) => x + 8),
    );
    const results = await Promise.allSettled(range(40).map((x) => pool.run(work, x)));
    onlyOneCrashed(results, 7, why);
    assert.equal(pool.stats().crashes, 1);
    assert.deepEqual(await Promise.all(range(4).map((x) => pool.run(work, x + 8))), [8, 9, 10, 11]);
  });
}

Deno.test("ProcessPool: a kernel module whose top level exits fails its items naming the module", async () => {
  await using pool = new ProcessPool({ size: 1 });
  await moduleExitFailsItems(pool);
  assert.equal(await pool.run(CRUNCH, 3), crunch(3), "a child that loads the other module runs it");
});

for (const how of ["readSync", "read", "readable", "node"]) {
  Deno.test(`ProcessPool: a kernel that reads stdin (${how}) fails that item; the channel stays in sync`, async () => {
    await using pool = new ProcessPool({ size: 1 });
    const work = fault<typeof k.readStdinOnSeven>("readStdinOnSeven");
    const results = await Promise.allSettled(range(12).map((x) => pool.run(work, { x, how })));
    for (const [i, result] of results.entries()) {
      if (i !== 7) {
        assert.deepEqual(result, { status: "fulfilled", value: i }, `item ${i}`);
        continue;
      }
      assert.equal(result.status, "rejected");
      const error = (result as PromiseRejectedResult).reason as Error;
      assert.match(error.message, /stdin of a ProcessPool child carries the pool's messages/);
    }
    assert.equal(pool.stats().crashes, 0);
    assert.deepEqual(
      await Promise.all(range(20).map((x) => pool.run(work, { x: x + 8, how }))),
      range(20).map((x) => x + 8),
    );
  });
}

Deno.test("ProcessPool: a process a kernel starts gets no stdin, so it cannot read the pool's messages", async () => {
  const deno = Deno.execPath();
  await using pool = new ProcessPool({ size: 1, permissions: { run: [deno] } });
  const work = fault<typeof k.spawnReaderOnSeven>("spawnReaderOnSeven");
  const results = await Promise.all(range(12).map((x) => pool.run(work, { x, deno })));
  assert.deepEqual(results, range(12).map((x) => x === 7 ? -7 : x));
  assert.equal(pool.stats().crashes, 0);
});

// Item 9: limits said up front, and an abort is not a crash.

Deno.test("a pool size (or nativePool threads) above 1024 is a RangeError naming the option and the limit", async () => {
  for (const Pool of [WorkerPool, ProcessPool]) {
    for (const size of [1e9, 1025, 2 ** 32]) {
      assert.throws(
        () => new Pool({ size }),
        (e: unknown) =>
          e instanceof RangeError &&
          e.message ===
            `Cannot create ${Pool.name}: size must be a positive integer up to 1024, got ${size}`,
      );
    }
  }
  assert.throws(
    () => nativePool("libc.so.6", {}, { threads: 1e9 }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot open native pool: threads must be a positive integer up to 1024, got 1000000000",
  );
  // The limit itself is allowed (a ProcessPool starts no child before its first task).
  await using pool = new ProcessPool({ size: 1024 });
  assert.equal(pool.size, 1024);
});

Deno.test("WorkerPool: aborting a running task replaces its worker but is not a crash", async () => {
  await using pool = new WorkerPool({ size: 1 });
  const cells = new Int32Array(new SharedArrayBuffer(4));
  const controller = new AbortController();
  const stuck = pool.run(fault<typeof k.flagThenSpin>("flagThenSpin"), cells, {
    signal: controller.signal,
  });
  // Wait for the kernel to say it runs.
  await Atomics.waitAsync(cells, 0, 0).value;
  controller.abort(new Error("too slow"));
  await assert.rejects(stuck, /too slow/);
  const stats = pool.stats();
  assert.equal(stats.crashes, 0, "an abort is not a crash");
  assert.equal(stats.workers[0]!.id, 1, "a new worker took the place of the stuck one");
  assert.equal(await pool.run(SQUARE, 3), 9);
  assert.equal(pool.stats().crashes, 0);
});

Deno.test("ProcessPool: aborting a running task replaces its child but is not a crash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conveyor_faults_" });
  try {
    await using pool = new ProcessPool({ size: 1, permissions: { write: [dir] } });
    const marker = `${dir}/started`;
    const controller = new AbortController();
    const stuck = pool.run(fault<typeof k.markThenHang>("markThenHang"), marker, {
      signal: controller.signal,
    });
    await fileWritten(marker);
    controller.abort(new Error("too slow"));
    await assert.rejects(stuck, /too slow/);
    assert.equal(pool.stats().crashes, 0, "an abort is not a crash");
    assert.equal(await pool.run(CRUNCH, 5), crunch(5));
    assert.equal(pool.stats().crashes, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
