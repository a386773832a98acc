// How the pool engine batches a stream's items, with workers that are stand-ins
// (links that record each batch and answer it in a later macrotask, reporting
// the kernel's time as the test says): nothing here depends on how fast the
// machine is.

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { kernel, source } from "../mod.ts";
import type { Link, LinkEvents, LinkFactory } from "../src/exec/_link.ts";
import { PoolCore } from "../src/exec/_pool_core.ts";
import type { RunMessage } from "../src/exec/_protocol.ts";

const inc = kernel<(x: number) => number>(
  new URL("./fixtures/kernels.ts", import.meta.url),
  "square",
);

/** Stand-in workers: each batch is recorded, and answered in its turn. */
class FakeWorkers implements LinkFactory {
  readonly kind = "FakePool";
  readonly eager = true;
  readonly preloads = false;
  /** Every batch sent, in order: its worker and its inputs. */
  readonly batches: { worker: number; inputs: unknown[] }[] = [];
  readonly #workers = new Map<
    number,
    { events: LinkEvents; held: RunMessage[]; loaded: boolean }
  >();
  readonly #waiting: { count: number; resolve: () => void }[] = [];

  /**
   * `msPerItem`: the kernel's time the workers report. `auto`: a worker
   * answers each batch in a later macrotask, in order; else the test does.
   * `loadMs`: how long loading the kernel's module takes (each worker's first batch).
   * `idleMs`: how long a worker says it waited for each batch.
   */
  constructor(
    readonly msPerItem: number,
    readonly auto = true,
    readonly loadMs = 0,
    readonly idleMs = 0,
  ) {}

  spawn(_pool: string, id: number, _modules: readonly string[], events: LinkEvents): Link {
    const worker = { events, held: [] as RunMessage[], loaded: false };
    this.#workers.set(id, worker);
    return {
      send: (message) => {
        this.batches.push({ worker: id, inputs: message.inputs });
        worker.held.push(message);
        for (const w of this.#waiting.filter((w) => this.batches.length >= w.count)) {
          this.#waiting.splice(this.#waiting.indexOf(w), 1);
          w.resolve();
        }
        if (this.auto) setImmediate(() => this.answer(id));
      },
      check: () => {},
      running: () => -1,
      withdraw: () => true,
      forget: () => {},
      kill: () => Promise.resolve(),
    };
  }

  /** Resolves once `count` batches were sent in all. */
  sent(count: number): Promise<void> {
    if (this.batches.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ count, resolve }));
  }

  /** Worker `id` answers the oldest batch it holds. */
  answer(id: number): void {
    const worker = this.#workers.get(id)!;
    const message = worker.held.shift()!;
    const load = worker.loaded ? 0 : this.loadMs;
    worker.loaded = true;
    worker.events.done({
      type: "done",
      ids: message.ids,
      values: message.inputs.map((x) => (x as number) + 1),
      errors: [],
      busy: load + this.msPerItem * message.ids.length,
      load,
      idle: this.idleMs,
    });
  }

  /** The sizes of the batches sent, in order. */
  sizes(): number[] {
    return this.batches.map((b) => b.inputs.length);
  }
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/**
 * Runs `n` items through `pool.map(inc, options)` on a pool of `workers`,
 * checks the results, closes the pool, and returns the sizes of the batches sent.
 */
async function batchSizes(
  workers: FakeWorkers,
  poolOptions: { size: number; maxBatch?: number },
  n: number,
  options?: { concurrency: number },
): Promise<number[]> {
  const pool = new PoolCore(workers, poolOptions);
  try {
    let i = 0;
    for await (const x of source(range(n)).pipeThrough(pool.map(inc, options))) {
      assert.equal(x, i + 1);
      i++;
    }
    assert.equal(i, n);
  } finally {
    await pool.close();
  }
  return workers.sizes();
}

Deno.test("with concurrency 64 on 2 workers, a trivial kernel's items travel 32 to a batch", async () => {
  const workers = new FakeWorkers(0.0002);
  const sizes = await batchSizes(workers, { size: 2 }, 3200, { concurrency: 64 });
  // Each worker's share of the 64 in one batch; none bigger, and no
  // fragments once the kernel's time is known (the first batches carry
  // one item each, until the first answer).
  assert.ok(sizes.every((n) => n <= 32), `sizes ${sizes}`);
  const known = sizes.slice(sizes.findIndex((n) => n > 1));
  assert.deepEqual(known.slice(0, -2).filter((n) => n !== 32), [], `sizes ${known}`);
  assert.equal(sizes.reduce((a, b) => a + b), 3200);
});

Deno.test("with concurrency 16 and a kernel of 0.05 ms, each worker's share goes in two batches", async () => {
  const workers = new FakeWorkers(0.05);
  const sizes = await batchSizes(workers, { size: 2 }, 800, { concurrency: 16 });
  // 4 items (0.2 ms) per batch: a worker runs one while the next travels.
  const known = sizes.slice(sizes.findIndex((n) => n > 1));
  assert.ok(known.every((n) => n <= 4), `sizes ${known}`);
  assert.deepEqual(known.slice(0, -2).filter((n) => n !== 4), [], `sizes ${known}`);
});

Deno.test("with concurrency 16 and a kernel of 0.05 ms on workers idle most of the time, each worker's share goes in one batch", async () => {
  // Each batch of 4 keeps a worker busy 0.2 ms after it waited 2 ms: what
  // holds the stream back is not the workers, and a second message per
  // share would only cost the event loop that feeds them.
  const workers = new FakeWorkers(0.05, true, 0, 2);
  const sizes = await batchSizes(workers, { size: 2 }, 800, { concurrency: 16 });
  assert.ok(sizes.every((n) => n <= 8), `sizes ${sizes}`);
  // Split in two while the workers' busy share is not yet measured, then whole.
  const whole = sizes.findIndex((n) => n === 8);
  assert.ok(whole !== -1 && whole < 20, `sizes ${sizes}`);
  assert.deepEqual(sizes.slice(whole, -2).filter((n) => n !== 8), [], `sizes ${sizes}`);
  assert.equal(sizes.reduce((a, b) => a + b), 800);
});

Deno.test("with the default options, a trivial kernel's items travel maxBatch to a batch", async () => {
  const workers = new FakeWorkers(0.0002);
  const sizes = await batchSizes(workers, { size: 2, maxBatch: 64 }, 6400);
  // While its time is unknown the kernel goes one item at a time, and then
  // in batches of 64: the items that trickle in while the workers are busy
  // wait for a whole batch instead of leaving in fragments.
  const known = sizes.slice(sizes.findIndex((n) => n > 1));
  assert.deepEqual(known.slice(0, -2).filter((n) => n !== 64), [], `sizes ${known}`);
});

Deno.test("a worker that finishes a batch gets the next one before the results are handed out", async () => {
  const workers = new FakeWorkers(0, false);
  const pool = new PoolCore(workers, { size: 1, maxBatch: 4 });
  try {
    // The kernel's time becomes known (0 ms): batches of maxBatch from now on.
    const first = pool.run(inc, 0);
    await workers.sent(1);
    workers.answer(0);
    assert.equal(await first, 1);
    const settled: number[] = [];
    const runs = Array.from(range(12), (i) => pool.run(inc, i).then((x) => settled.push(x)));
    await workers.sent(3);
    // Two batches held by the worker, the third waiting.
    assert.deepEqual(workers.sizes(), [1, 4, 4]);
    const before = workers.batches.length;
    workers.answer(0);
    assert.equal(workers.batches.length, before + 1, "the third batch left with the answer");
    assert.deepEqual(settled, []);
    workers.answer(0);
    workers.answer(0);
    await Promise.all(runs);
    assert.deepEqual(settled, Array.from(range(12), (i) => i + 1));
  } finally {
    await pool.close();
  }
});

Deno.test("the time a worker takes to load the kernel's module does not shrink its batches", async () => {
  // 50 ms to load the module, then 0.2 µs an item: counted as the kernel's
  // time, the load would size batches at one item for dozens of batches.
  const workers = new FakeWorkers(0.0002, true, 50);
  const sizes = await batchSizes(workers, { size: 1, maxBatch: 64 }, 640);
  // One item while the kernel's time is unknown (the worker holds two
  // batches), then whole batches.
  assert.deepEqual(sizes.slice(0, 2), [1, 1]);
  assert.deepEqual(sizes.slice(2, -1).filter((n) => n !== 64), [], `sizes ${sizes}`);
});
