// NatsPool and serveNatsWorker against a real nats-server (started by each
// test on a free loopback port with a temporary store) and real worker
// processes (tests/fixtures/nats_worker.ts): order, exactly-once results
// through worker and server faults, kernel errors, long tasks, the module
// allow-list, withdrawal on an early stop, option typos and maxDeliver.
// Every test ends with no child process left.

import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { kernel } from "../mod.ts";
import { NatsPool, serveNatsWorker } from "../src/nats/mod.ts";
import { type Child, childProcesses, type NatsServer, spawnDeno, startNats } from "./_nats.ts";
import { eventually } from "./_util.ts";

const KERNELS = new URL("./fixtures/nats_kernels.ts", import.meta.url);
const FIXTURES = fromFileUrl(new URL("./fixtures/", import.meta.url));
const WORKER = fromFileUrl(new URL("./fixtures/nats_worker.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../deno.json", import.meta.url));

const square = kernel<(x: number) => number>(KERNELS, "square");
const busy = kernel<(x: number) => number>(KERNELS, "busy");

/** Starts a worker process of `pool` and waits for its "ready" line. */
async function startWorker(
  server: NatsServer,
  pool: string,
  name: string,
  options: { size?: number; allow?: string[] } = {},
): Promise<Child> {
  const child = spawnDeno([
    "run",
    "-A",
    "--config",
    CONFIG,
    WORKER,
    "--servers",
    server.url,
    "--pool",
    pool,
    "--name",
    name,
    "--size",
    `${options.size ?? 1}`,
    "--allow-modules",
    ...(options.allow ?? [FIXTURES]),
  ]);
  try {
    await child.waitFor(`ready ${name}`);
  } catch (error) {
    await child[Symbol.asyncDispose]();
    throw error;
  }
  return child;
}

/** `count` workers of `pool` (size 1 each), disposed together. */
async function startWorkers(
  server: NatsServer,
  pool: string,
  count: number,
  options: { size?: number; allow?: string[] } = {},
): Promise<Child[] & AsyncDisposable> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => startWorker(server, pool, `${pool}-${i}`, options)),
  );
  const children = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const all = Object.assign(children, {
    async [Symbol.asyncDispose]() {
      await Promise.all(children.map((child) => child[Symbol.asyncDispose]()));
    },
  });
  const failed = started.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await all[Symbol.asyncDispose]();
    throw failed.reason;
  }
  return all;
}

/** SIGTERM (a drain), then waits for the exit; asserts it drained cleanly. */
async function drain(child: Child): Promise<void> {
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0, `the worker did not drain cleanly:\n${child.log()}`);
  assert.match(child.log(), /drained /);
}

/** Lines of a run log (a missing file: none). */
async function lines(log: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(log)).split("\n").filter((line) => line !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** How many times each item ran, by the first word of each log line. */
async function runsOf(log: string): Promise<Map<number, number>> {
  const runs = new Map<number, number>();
  for (const line of await lines(log)) {
    const x = Number(line.split(" ")[0]);
    runs.set(x, (runs.get(x) ?? 0) + 1);
  }
  return runs;
}

/** 0, 1, ..., n - 1. */
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Reads `stream` to its end in the background; `values` grows as results arrive. */
function reader<T>(stream: ReadableStream<T>): { values: T[]; done: Promise<T[]> } {
  const values: T[] = [];
  const done = (async () => {
    for await (const value of stream) values.push(value);
    return values;
  })();
  // A test that fails before it awaits `done` reports its own failure, not
  // the run's rejection when the pool closes under it.
  done.catch(() => {});
  return { values, done };
}

/** Asserts that `values` is exactly `expected` (each item once, in order), saying where not. */
function assertExactly(values: number[], expected: number[]): void {
  if (values.length === expected.length && values.every((v, i) => v === expected[i])) return;
  const seen = new Map<number, number>();
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([v]) => v).slice(0, 10);
  const missing = expected.filter((v) => !seen.has(v)).slice(0, 10);
  const misplaced = values.findIndex((v, i) => v !== expected[i]);
  assert.fail(
    `${values.length} results for ${expected.length} items; more than once: [${twice}]; ` +
      `missing: [${missing}]; first out of order at ${misplaced}`,
  );
}

/** A test that must leave no child process behind, whatever it does. */
function natsTest(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    await fn();
    assert.deepEqual(await childProcesses(), [], "a process was left behind");
  });
}

/** A temporary folder for run logs, removed on dispose. */
async function tempFolder(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "conveyor_nats_test_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** A plain NATS connection of the test's own (to look at streams and heartbeats). */
async function observer(server: NatsServer): Promise<NatsConnection & AsyncDisposable> {
  const nc = await connect({ servers: server.url });
  return Object.assign(nc, { [Symbol.asyncDispose]: () => nc.close() });
}

natsTest(
  "100,000 items through 2 worker processes come back as the sequential results, in order",
  async () => {
    await using server = await startNats();
    await using workers = await startWorkers(server, "order", 2);
    await using pool = await NatsPool.connect({ servers: server.url, pool: "order" });
    const n = 100_000;
    const out = await Array.fromAsync(ReadableStream.from(range(n)).pipeThrough(pool.map(square)));
    assertExactly(out, range(n).map((x) => x * x));
    await pool.close();
    for (const worker of workers) await drain(worker);
  },
);

natsTest(
  "a worker killed with SIGKILL mid-task: the run completes with every item once",
  async () => {
    await using folder = await tempFolder();
    await using server = await startNats();
    await using workers = await startWorkers(server, "killed", 2);
    // The hung worker keeps its task with a progress ack every ackWaitMs / 3
    // until it is killed; then the task runs again elsewhere.
    await using pool = await NatsPool.connect({
      servers: server.url,
      pool: "killed",
      ackWaitMs: 1500,
    });
    // Item `at` hangs its worker the first time (it writes the marker first).
    const marker = `${folder.path}/stalled`;
    const stallOnce = kernel<(input: { x: number; at: number; marker: string }) => number>(
      KERNELS,
      "stallOnce",
    );
    const n = 10_000;
    const at = 3_000;
    const run = reader(
      ReadableStream.from(range(n)).pipeThrough(
        new TransformStream({ transform: (x, c) => c.enqueue({ x, at, marker }) }),
      ).pipeThrough(pool.map(stallOnce)),
    );
    await eventually(() => run.values.length >= 1000, "the first 1000 results");
    const pid = await probeUntil(async () => {
      const text = await lines(marker);
      return text.length > 0 ? Number(text[0]!.split(" ")[0]) : undefined;
    }, "the stalled item's marker");
    const victim = workers.find((w) => w.pid === pid);
    assert.ok(victim, `the stalled item ran in process ${pid}, not one of the workers`);
    // Results leave in order, so while item `at` hangs at most the `at` items
    // before it are out (all of them, if the marker was seen late).
    if (run.values.length > at) {
      // Item `at` ran again: the marker says where and when, against the first run.
      assert.fail(
        `the run went past the stalled item (${run.values.length} results); its runs ` +
          `(pid, ms since the epoch): ${(await lines(marker)).join("; ")}`,
      );
    }
    victim.kill("SIGKILL");
    assert.equal((await victim.status).signal, "SIGKILL");
    assertExactly(await run.done, range(n));
    await pool.close();
    for (const worker of workers) if (worker !== victim) await drain(worker);
  },
);

natsTest(
  "the server stopped and restarted mid-run on the same store: every item once",
  async () => {
    await using server = await startNats();
    await using workers = await startWorkers(server, "restart", 2);
    await using pool = await NatsPool.connect({
      servers: server.url,
      pool: "restart",
      ackWaitMs: 1500,
    });
    const n = 10_000;
    const run = reader(ReadableStream.from(range(n)).pipeThrough(pool.map(busy)));
    await eventually(() => run.values.length >= 2000, "the first 2000 results");
    const port = server.port;
    const before = server.pid;
    await server.stop();
    const during = run.values.length;
    assert.ok(during < n, "the run ended before the server stopped");
    await server.restart();
    assert.equal(server.port, port);
    assert.notEqual(server.pid, before);
    assertExactly(await run.done, range(n));
    assert.match(server.log(), /--- restarted ---/);
    await pool.close();
    for (const worker of workers) await drain(worker);
  },
);

natsTest(
  "a kernel that throws fails its own item with its message, once; the others arrive",
  async () => {
    await using folder = await tempFolder();
    await using server = await startNats();
    await using workers = await startWorkers(server, "throws", 2);
    await using pool = await NatsPool.connect({
      servers: server.url,
      pool: "throws",
      ackWaitMs: 1500,
    });
    const log = `${folder.path}/runs`;
    const refuse = kernel<(input: { x: number; bad: number; log: string }) => number>(
      KERNELS,
      "refuse",
    );
    const n = 100;
    const bad = 37;
    // Submitted together, so the bad item shares its message with others.
    const outcomes = await Promise.allSettled(
      range(n).map((x) => pool.run(refuse, { x, bad, log })),
    );
    for (const [x, outcome] of outcomes.entries()) {
      if (x === bad) {
        assert.equal(outcome.status, "rejected");
        const error = (outcome as PromiseRejectedResult).reason as Error;
        assert.equal(error.message, `kernel refused ${bad}`);
        assert.equal(error.name, "RangeError");
      } else {
        assert.deepEqual(outcome, { status: "fulfilled", value: 2 * x }, `item ${x}`);
      }
    }
    const runs = await runsOf(log);
    assert.equal(runs.get(bad), 1, "the failed item ran again");
    assert.deepEqual([...runs.keys()].sort((a, b) => a - b), range(n));
    assert.ok([...runs.values()].every((count) => count === 1), "an item ran twice");
    await pool.close();
    for (const worker of workers) await drain(worker);
  },
);

natsTest("a task longer than ackWaitMs on a live worker is not redelivered", async () => {
  await using folder = await tempFolder();
  await using server = await startNats();
  // Two workers: a redelivered task would have an idle worker to go to.
  await using workers = await startWorkers(server, "long", 2);
  const ackWaitMs = 1500;
  await using pool = await NatsPool.connect({ servers: server.url, pool: "long", ackWaitMs });
  const log = `${folder.path}/runs`;
  const slow = kernel<(input: { x: number; ms: number; log: string }) => number>(KERNELS, "slow");
  // Three ack waits: without progress reports it would go to the other worker twice.
  assert.equal(await pool.run(slow, { x: 41, ms: 3 * ackWaitMs, log }), 42);
  const ran = await lines(log);
  assert.equal(ran.length, 1, `ran ${ran.length} times: ${ran.join("; ")}`);
  await pool.close();
  for (const worker of workers) await drain(worker);
});

natsTest(
  "a module outside the worker's allowModules fails its items, naming the module and the roots",
  async () => {
    await using folder = await tempFolder();
    const outside = `${folder.path}/outside.ts`;
    await Deno.writeTextFile(outside, "export const square = (x: number): number => x * x;\n");
    const outsideUrl = new URL(`file://${outside}`);
    const elsewhere = `${folder.path}/nothing_here/`;
    await using server = await startNats();
    await using workers = await startWorkers(server, "allowed", 2, {
      allow: [FIXTURES, elsewhere],
    });
    await using pool = await NatsPool.connect({
      servers: server.url,
      pool: "allowed",
      ackWaitMs: 1500,
    });
    const forbidden = kernel<(x: number) => number>(outsideUrl, "square");
    const n = 500;
    const [allowed, refused] = await Promise.all([
      Array.fromAsync(ReadableStream.from(range(n)).pipeThrough(pool.map(square))),
      Promise.allSettled(range(5).map((x) => pool.run(forbidden, x))),
    ]);
    assertExactly(allowed, range(n).map((x) => x * x));
    for (const outcome of refused) {
      assert.equal(outcome.status, "rejected");
      const message = String((outcome as PromiseRejectedResult).reason?.message);
      assert.ok(message.includes(outsideUrl.href), `the module is not named: ${message}`);
      assert.ok(
        message.includes(new URL(`file://${FIXTURES}`).href),
        `the roots are not named: ${message}`,
      );
      assert.ok(message.includes(new URL(`file://${elsewhere}`).href), message);
    }
    await pool.close();
    for (const worker of workers) await drain(worker);
  },
);

natsTest(
  "a client that breaks out early withdraws its queued tasks and the workers stop on them",
  async () => {
    await using folder = await tempFolder();
    await using server = await startNats();
    await using workers = await startWorkers(server, "early", 2);
    await using nc = await observer(server);
    // Every heartbeat, by worker, in the order they came.
    const heartbeats: { id: string; holding: number; at: number }[] = [];
    let clock = 0;
    nc.subscribe("conveyor.early.workers", {
      callback: (error, msg) => {
        if (error !== null) return;
        const { id, holding } = msg.json<{ id: string; holding: number }>();
        heartbeats.push({ id, holding, at: clock });
      },
    });
    // The subjects the tasks go to (one per client).
    const subjects: string[] = [];
    nc.subscribe("conveyor.early.tasks.*", {
      callback: (error, msg) => {
        if (error === null && !subjects.includes(msg.subject)) subjects.push(msg.subject);
      },
    });
    await nc.flush();
    const jsm = await jetstreamManager(nc);
    await using pool = await NatsPool.connect({
      servers: server.url,
      pool: "early",
      ackWaitMs: 1500,
    });
    const log = `${folder.path}/runs`;
    const gate = kernel<(input: { x: number; open: number; log: string }) => number>(
      KERNELS,
      "gate",
    );
    // Items below 64 return at once; the others hang until their thread is stopped.
    const n = 20_000;
    const open = 64;
    const got: number[] = [];
    const stream = ReadableStream.from(range(n)).pipeThrough(
      new TransformStream({ transform: (x, c) => c.enqueue({ x, open, log }) }),
    ).pipeThrough(pool.map(gate));
    for await (const value of stream) {
      got.push(value);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [0, 1, 2]);

    // Withdrawn: the tasks stream holds nothing (queued ones deleted, held ones terminated).
    const messages = async () => (await jsm.streams.info("CONVEYOR_early_TASKS")).state.messages;
    await probeUntil(async () => await messages() === 0 ? true : undefined, "an empty stream");
    // Both workers then report holding nothing: their hanging tasks were stopped.
    clock = 1;
    await eventually(
      () =>
        workers.every((_, i) =>
          heartbeats.some((h) => h.id === `early-${i}` && h.at === 1 && h.holding === 0)
        ),
      "both workers idle",
    );
    const ran = (await lines(log)).length;
    assert.ok(ran < n / 10, `${ran} of ${n} items ran though the client stopped after 3`);
    assert.ok(ran >= 3);

    // The workers are free for another client's work, and nothing of the withdrawn job runs again.
    {
      await using other = await NatsPool.connect({ servers: server.url, pool: "early" });
      const after = `${folder.path}/after`;
      const more = await Array.fromAsync(
        ReadableStream.from(range(32)).pipeThrough(
          new TransformStream({ transform: (x, c) => c.enqueue({ x, open, log: after }) }),
        ).pipeThrough(other.map(gate)),
      );
      assertExactly(more, range(32));
    }
    assert.equal((await lines(log)).length, ran, "a withdrawn task ran");
    // (Not the whole stream: the other job's last tasks may be there, as a result is stored
    // before its task's ack.)
    assert.equal(subjects.length, 2);
    const left = await jsm.streams.info("CONVEYOR_early_TASKS", { subjects_filter: subjects[0]! });
    assert.equal(left.state.subjects?.[subjects[0]!] ?? 0, 0, "the withdrawn job has tasks queued");
    await pool.close();
    for (const worker of workers) await drain(worker);
  },
);

natsTest(
  "NatsPool.connect and serveNatsWorker: a typo is a TypeError with a did-you-mean",
  async () => {
    for (
      const [options, wrong, right] of [
        [{ servers: "nats://127.0.0.1:1", pool: "p", ackWait: 1500 }, "ackWait", "ackWaitMs"],
        [{ servers: "nats://127.0.0.1:1", pool: "p", maxDelivery: 2 }, "maxDelivery", "maxDeliver"],
        [{ server: "nats://127.0.0.1:1", pool: "p" }, "server", "servers"],
      ] as const
    ) {
      await assert.rejects(
        NatsPool.connect(options as unknown as Parameters<typeof NatsPool.connect>[0]),
        (error: Error) => {
          assert.ok(error instanceof TypeError, String(error));
          assert.match(error.message, /^NatsPool\.connect: /);
          assert.ok(
            error.message.includes(`unknown option "${wrong}" (did you mean ${right}?)`),
            error.message,
          );
          return true;
        },
      );
    }
    await assert.rejects(
      serveNatsWorker(
        {
          servers: "nats://127.0.0.1:1",
          pool: "p",
          allowModule: [FIXTURES],
        } as unknown as Parameters<typeof serveNatsWorker>[0],
      ),
      (error: Error) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(
          error.message,
          /^serveNatsWorker: unknown option "allowModule" \(did you mean allowModules\?\)/,
        );
        return true;
      },
    );
  },
);

natsTest(
  "maxDeliver: a task whose worker process dies on every delivery fails with WorkerCrashError",
  async () => {
    await using folder = await tempFolder();
    await using server = await startNats();
    const log = `${folder.path}/runs`;
    // One worker at a time, started again whenever it dies.
    const deaths: number[] = [];
    let current: Child | undefined;
    let stopping = false;
    let generation = 0;
    const supervisor = (async () => {
      while (!stopping) {
        current = await startWorker(server, "doomed", `doomed-${generation++}`);
        if (stopping) current.kill("SIGTERM");
        const status = await current.status;
        if (status.signal === "SIGKILL") deaths.push(current.pid);
        else break;
      }
    })();
    try {
      const options = { servers: server.url, pool: "doomed", ackWaitMs: 1500 };
      await using doomedPool = await NatsPool.connect({ ...options, maxDeliver: 2 });
      // Another client's items share the dying workers (with the default maxDeliver, 5).
      await using pool = await NatsPool.connect(options);
      const suicide = kernel<(input: { x: number; log: string }) => number>(KERNELS, "suicide");
      const [doomed, others] = await Promise.all([
        doomedPool.run(suicide, { x: 7, log }).then(
          () => assert.fail("the suicide kernel returned"),
          (error: Error) => error,
        ),
        Array.fromAsync(ReadableStream.from(range(200)).pipeThrough(pool.map(square))),
      ]);
      assert.equal(doomed.name, "WorkerCrashError");
      assert.match(doomed.message, /delivered 3 times, more than maxDeliver 2/);
      assert.match(doomed.message, /"suicide"/);
      assertExactly(others, range(200).map((x) => x * x));
      // It ran on two deliveries, each killing its worker process; the third failed it unrun.
      const ran = await lines(log);
      assert.equal(ran.length, 2, ran.join("; "));
      assert.deepEqual(ran.map((line) => Number(line.split(" ")[1])), deaths);
      assert.equal(doomedPool.stats().crashes, 1);
      // The pool goes on, on the worker started after the last death.
      assertExactly(
        await Array.fromAsync(ReadableStream.from(range(50)).pipeThrough(doomedPool.map(square))),
        range(50).map((x) => x * x),
      );
      await doomedPool.close();
      await pool.close();
    } finally {
      stopping = true;
      current?.kill("SIGTERM");
      await supervisor;
      await current?.[Symbol.asyncDispose]();
    }
    assert.equal(deaths.length, 2);
    assert.equal((await current!.status).code, 0, "the last worker did not drain cleanly");
  },
);

/** Waits until `probe` gives a value (it may ask the server); rejects after `limitMs`. */
async function probeUntil<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  limitMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
