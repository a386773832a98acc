// The front-ends that take a pool, on a NatsPool: Operations' stateless
// kernels and a batch pipeline's in-batch kernels run on worker processes
// (tests/fixtures/nats_worker.ts) of a real nats-server that each test starts
// on a free loopback port with a temporary store. The kernels
// (tests/fixtures/where_kernels.ts) say which thread ran them: a NATS
// worker's threads are named nats-<pool>-<id>. Every test ends with no child
// process left.

import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import {
  action,
  Batch,
  Dataset,
  inbatchOptions,
  inbatchParallel,
  type Kernel,
  kernel,
  type Operation,
  Operations,
} from "../mod.ts";
import { NatsPool } from "../src/nats/mod.ts";
import { type Child, childProcesses, type NatsServer, spawnDeno, startNats } from "./_nats.ts";

const WHERE = new URL("./fixtures/where_kernels.ts", import.meta.url);
const FIXTURES = fromFileUrl(new URL("./fixtures/", import.meta.url));
const WORKER = fromFileUrl(new URL("./fixtures/nats_worker.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../deno.json", import.meta.url));

/** `count` worker processes of `pool` (2 threads each), ready, disposed together. */
async function startWorkers(
  server: NatsServer,
  pool: string,
  count: number,
  allow: string[],
): Promise<Child[] & AsyncDisposable> {
  const children: Child[] = [];
  const all = Object.assign(children, {
    async [Symbol.asyncDispose]() {
      await Promise.all(children.map((child) => child[Symbol.asyncDispose]()));
    },
  });
  try {
    for (let i = 0; i < count; i++) {
      const name = `${pool}-worker-${i}`;
      const child = spawnDeno([
        ..."run -A --config".split(" "),
        CONFIG,
        WORKER,
        ...["--servers", server.url, "--pool", pool, "--name", name, "--size", "2"],
        "--allow-modules",
        ...allow,
      ]);
      children.push(child);
      await child.waitFor(`ready ${name}`);
    }
  } catch (error) {
    await all[Symbol.asyncDispose]();
    throw error;
  }
  return all;
}

/** SIGTERM (a drain), then waits for each worker's clean exit. */
async function drain(workers: readonly Child[]): Promise<void> {
  for (const worker of workers) worker.kill("SIGTERM");
  for (const worker of workers) {
    const status = await worker.status;
    assert.equal(status.code, 0, `the worker did not drain cleanly:\n${worker.log()}`);
  }
}

/** A test that must leave no child process behind, whatever it does. */
function natsTest(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    await fn();
    assert.deepEqual(await childProcesses(), [], "a process was left behind");
  });
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

type Trail = { value: number; path: string[] };

natsTest(
  "Operations with pool: natsPool runs its stateless kernels (functions, a class, windows) on the NATS workers",
  async () => {
    await using server = await startNats();
    // Only the fixtures: function exports run as themselves.
    await using workers = await startWorkers(server, "ops", 2, [FIXTURES]);
    await using pool = await NatsPool.connect({ servers: server.url, pool: "ops" });
    const ops: Operation[] = [
      (x: number): Trail => ({ value: x, path: [] }),
      kernel(WHERE, "TrailSum"), // stateful: its dedicated local worker
      kernel(WHERE, "trailNegate"), // a function: the kernel itself, on NATS
      kernel(WHERE, "trailPairs"), // windows of 2, on NATS
      kernel(WHERE, "trailMaster"), // runInMaster: here
    ];
    const n = 200;
    let sum = 0;
    const negated = range(1, n).map((x) => -(sum += x));
    const expected = negated.slice(1).map((x, i) => x + negated[i]! + 1);
    await using chain = new Operations<number, Trail>(ops, { pool });
    const out = await Array.fromAsync(chain.apply(range(1, n)));
    assert.deepEqual(out.map((t) => t.value), expected);
    for (const { path } of out) {
      assert.equal(path.length, 4, path.join(", "));
      assert.match(path[0]!, /^operation-TrailSum-\d+$/);
      for (const on of path.slice(1, 3)) assert.match(on, /^nats-ops-\d+$/, path.join(", "));
      assert.equal(path[3], "main");
    }
    assert.equal(pool.stats().tasksDone, n + (n - 1), "every stateless call went through NATS");
    assert.equal(chain.stats().pool?.name, "ops");
    assert.equal(pool.stats().closed, false, "the pool given stays open");
    await pool.close();
    await drain(workers);
  },
);

/** Per item, addHere(item, offset): the sum and the thread it ran on. */
class Where extends Batch<number> {
  out: { value: number; on: string }[] = [];
  items(): readonly number[] {
    return this.indices;
  }
  keep(results: { value: number; on: string }[]): this {
    this.out = results;
    return this;
  }
  @action
  @inbatchParallel({ init: "items", post: "keep", target: "workers" })
  add(_offset: number): Kernel {
    return kernel(WHERE, "addHere");
  }
}

natsTest(
  "a batch pipeline with pool: natsPool runs its in-batch workers and processes calls on the NATS workers",
  async () => {
    await using server = await startNats();
    // Only the fixtures: Operations' own kernel is not allowed here.
    await using workers = await startWorkers(server, "batches", 2, [FIXTURES]);
    await using pool = await NatsPool.connect({ servers: server.url, pool: "batches" });
    const keys = range(0, 99);
    let done = 0;
    for (const target of ["workers", "processes"] as const) {
      const run = new Dataset(keys, Where).p.add(1000, inbatchOptions({ target }))
        .genBatch(10, { pool, prefetch: 2 });
      const out = (await Array.fromAsync(run)).flatMap((b) => b.out);
      assert.deepEqual(out.map((o) => o.value), keys.map((k) => k + 1000), target);
      for (const { on } of out) assert.match(on, /^nats-batches-\d+$/, target);
      assert.equal(pool.stats().tasksDone, done += keys.length, target);
    }
    // A class operation would need Operations' own kernel on the workers,
    // which runs any module: refused on a pool that is not local.
    assert.throws(
      () => new Operations<Trail, Trail>([kernel(WHERE, "TrailDouble")], { pool }),
      (error: unknown) =>
        error instanceof TypeError &&
        /operation "TrailDouble" is a class, and a class runs in parallel only on a WorkerPool or ProcessPool/
          .test(error.message),
    );
    assert.equal(pool.stats().closed, false, "the pool given stays open");
    await pool.close();
    await drain(workers);
  },
);
