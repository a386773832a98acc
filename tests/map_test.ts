import assert from "node:assert/strict";
import { filter, flatMap, map, StageError } from "../mod.ts";
import { counted, eventually, modes, random, settle, sleep } from "./_util.ts";
import { HOOKS } from "../src/_internal/hooks.ts";
import type { MapOptions } from "../src/stream/types.ts";

for (const mode of modes) {
  const { from, pipe, collect } = mode;

  Deno.test(`map() keeps input order when later tasks finish first (${mode.name})`, async () => {
    const rand = random(1);
    const delays = Array.from({ length: 1000 }, () => Math.floor(rand() * 4));
    const finished: number[] = [];
    const out = pipe(
      from(delays.keys()),
      map(async (i: number) => {
        await sleep(delays[i]!);
        finished.push(i);
        return i * 2;
      }, { concurrency: 8 }),
    );
    const result = await collect(out);
    assert.deepEqual(result, Array.from({ length: 1000 }, (_, i) => i * 2));
    // The test means something only if tasks did finish out of order.
    assert.notDeepEqual(finished, [...finished].sort((a, b) => a - b));
  });

  Deno.test(`map() with ordered: false lets a fast item overtake a slow one (${mode.name})`, async () => {
    const gate = Promise.withResolvers<void>();
    const out = pipe(
      from([0, 1]),
      map(async (x: number) => {
        if (x === 0) await gate.promise;
        return x;
      }, { concurrency: 2, ordered: false }),
    );
    const reader = out.getReader();
    assert.deepEqual(await reader.read(), { value: 1, done: false });
    gate.resolve();
    assert.deepEqual(await reader.read(), { value: 0, done: false });
    assert.deepEqual(await reader.read(), { value: undefined, done: true });
  });

  Deno.test(`map() with ordered: true holds a fast item until the slow one before it is done (${mode.name})`, async () => {
    const gate = Promise.withResolvers<void>();
    let secondDone = false;
    const out = pipe(
      from([0, 1]),
      map(async (x: number) => {
        if (x === 0) await gate.promise;
        else secondDone = true;
        return x;
      }, { concurrency: 2 }),
    );
    const reader = out.getReader();
    const first = reader.read();
    await eventually(() => secondDone, "item 1 to finish");
    gate.resolve();
    assert.deepEqual(await first, { value: 0, done: false });
    assert.deepEqual(await reader.read(), { value: 1, done: false });
    assert.deepEqual(await reader.read(), { value: undefined, done: true });
  });

  Deno.test(`map() never runs more than concurrency tasks at once (${mode.name})`, async () => {
    for (const ordered of [true, false]) {
      const rand = random(7);
      let inFlight = 0;
      let most = 0;
      const out = pipe(
        from(Array.from({ length: 300 }, (_, i) => i)),
        map(async (x: number) => {
          most = Math.max(most, ++inFlight);
          await sleep(Math.floor(rand() * 3));
          inFlight--;
          return x;
        }, { concurrency: 5, ordered }),
      );
      const result = await collect(out);
      assert.equal(result.length, 300);
      assert.deepEqual([...result].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
      assert.equal(most, 5, `most tasks in flight with ordered: ${ordered}`);
    }
  });

  Deno.test(`map() takes no more than concurrency items past the last one emitted (${mode.name})`, async () => {
    const src = counted(100);
    const gate = Promise.withResolvers<void>();
    const started: number[] = [];
    const stage = map(async (x: number) => {
      started.push(x);
      if (x === 0) await gate.promise;
      return x;
    }, { concurrency: 4 });
    const out = mode.name === "fused"
      ? src.stream.pipeThrough(stage)
      : src.stream.pipeThrough(stage, {});
    const reader = out.getReader();
    const first = reader.read();
    await settle(20);
    assert.equal(src.pulls(), 4, "items pulled while item 0 blocks");
    assert.deepEqual(started, [0, 1, 2, 3]);
    gate.resolve();
    assert.deepEqual(await first, { value: 0, done: false });
    let next = 1;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      assert.equal(value, next++);
      // The consumer has read `next` items: at most 4 are held past them.
      assert(src.pulls() <= next + 4, `pulled ${src.pulls()} after reading ${next}`);
    }
    assert.equal(next, 100);
  });

  Deno.test(`map() errors with a StageError, cancels upstream and aborts tasks in flight (${mode.name})`, async () => {
    let cleanedUp = false;
    function* numbers() {
      try {
        for (let i = 0; i < 1000; i++) yield i;
      } finally {
        cleanedUp = true;
      }
    }
    const aborted: number[] = [];
    const out = pipe(
      from(numbers()),
      map(async (x: number, { signal, index }) => {
        assert.equal(index, x);
        if (x === 3) {
          await sleep(5);
          throw new Error("boom");
        }
        try {
          await sleep(10_000, signal);
        } catch (error) {
          aborted.push(x);
          throw error;
        }
        return x;
      }, { concurrency: 6, name: "explode" }),
    );
    await assert.rejects(collect(out), (error: unknown) => {
      assert(error instanceof StageError);
      assert.equal(error.name, "StageError");
      assert.equal(error.stage, "explode");
      assert.equal(error.index, 3);
      assert.equal((error.cause as Error).message, "boom");
      return true;
    });
    assert.deepEqual(aborted.sort((a, b) => a - b), [0, 1, 2, 4, 5]);
    await eventually(() => cleanedUp, "the source generator's finally");
  });

  Deno.test(`map() with onError: "skip" drops failures and counts them (${mode.name})`, async () => {
    const stage = map((x: number) => {
      if (x % 3 === 0) throw new Error(`no ${x}`);
      return x;
    }, { onError: "skip", concurrency: 3 });
    const result = await collect(pipe(from(Array.from({ length: 10 }, (_, i) => i)), stage));
    assert.deepEqual(result, [1, 2, 4, 5, 7, 8]);
    assert.equal(stage.stats().failures, 4);
    assert.equal(stage.stats().itemsIn, 10);
    assert.equal(stage.stats().itemsOut, 6);
  });

  Deno.test(`map() errors the stream after maxFailures failures (${mode.name})`, async () => {
    const stage = map(async (x: number) => {
      await sleep(0);
      if (x % 2 === 1) throw new Error(`odd ${x}`);
      return x;
    }, { onError: "skip", maxFailures: 2, name: "evens" });
    await assert.rejects(collect(pipe(from([0, 1, 2, 3, 4, 5, 6]), stage)), (error: unknown) => {
      assert(error instanceof StageError);
      assert.equal(error.index, 5);
      assert.equal((error.cause as Error).message, "odd 5");
      assert.match(error.message, /maxFailures 2/);
      return true;
    });
    assert.equal(stage.stats().failures, 3);
  });

  Deno.test(`map() stops when its output is cancelled (${mode.name})`, async () => {
    const src = counted();
    const aborted: unknown[] = [];
    const tasks = (label: string) =>
      map(async (x: number, { signal }) => {
        try {
          await sleep(x < 3 ? 0 : 10_000, signal);
        } catch (error) {
          aborted.push(`${label}:${String(error)}`);
          throw error;
        }
        return x;
      }, { concurrency: 4 });
    const first = mode.name === "fused"
      ? src.stream.pipeThrough(tasks("a"))
      : src.stream.pipeThrough(tasks("a"), {});
    const out = pipe(first, tasks("b"));
    const reader = out.getReader();
    assert.deepEqual(await reader.read(), { value: 0, done: false });
    await settle();
    await reader.cancel("enough");
    await eventually(() => src.cancelled().length > 0, "the source's cancel");
    assert.deepEqual(src.cancelled(), ["enough"]);
    assert(aborted.length > 0, "tasks in flight saw their signal abort");
    assert(aborted.every((a) => String(a).endsWith(":enough")), String(aborted));
  });

  Deno.test(`map() stops when its signal aborts (${mode.name})`, async () => {
    const src = counted();
    const controller = new AbortController();
    let abortedTasks = 0;
    const stage = map(async (x: number, { signal }) => {
      try {
        await sleep(10_000, signal);
      } catch (error) {
        abortedTasks++;
        throw error;
      }
      return x;
    }, { concurrency: 3, signal: controller.signal });
    const out = mode.name === "fused"
      ? src.stream.pipeThrough(stage)
      : src.stream.pipeThrough(stage, {});
    const result = collect(out);
    await settle();
    const reason = new Error("stop now");
    controller.abort(reason);
    await assert.rejects(result, (error: unknown) => error === reason);
    await eventually(() => src.cancelled().length > 0, "the source's cancel");
    assert.equal(src.cancelled()[0], reason);
    assert.equal(abortedTasks, 3);
  });

  Deno.test(`map() passes an upstream error through and aborts its tasks (${mode.name})`, async () => {
    const failure = new Error("source broke");
    let aborted = 0;
    async function* broken() {
      yield 1;
      yield 2;
      await sleep(5);
      throw failure;
    }
    const out = pipe(
      from(broken()),
      map(async (x: number, { signal }) => {
        try {
          await sleep(10_000, signal);
        } catch (error) {
          aborted++;
          throw error;
        }
        return x;
      }, { concurrency: 4 }),
    );
    await assert.rejects(collect(out), (error: unknown) => error === failure);
    assert.equal(aborted, 2);
  });
}

Deno.test("map() takes a writer's chunks while it has room, and none past its last free slot", async () => {
  const gate = Promise.withResolvers<void>();
  const started: number[] = [];
  const stage = map(async (x: number) => {
    started.push(x);
    await gate.promise;
    return x;
  }, { concurrency: 3 });
  const out = Array.fromAsync(stage.readable);
  const writer = stage.writable.getWriter();
  // Each write into a free slot is taken while every task waits: the writer
  // goes on without a task being done.
  for (let i = 0; i < 3; i++) {
    await writer.ready;
    await writer.write(i);
  }
  await eventually(() => started.length === 3, "three tasks started");
  // Every slot is taken: the next chunk waits in the writable's queue, as in
  // any TransformStream, its task does not start, and the writer is held.
  await writer.ready;
  let taken = false;
  const fourth = writer.write(3).then(() => taken = true);
  let ready = false;
  const waiting = writer.ready.then(() => ready = true);
  await settle(10);
  assert.equal(taken, false, "a fourth chunk taken while three tasks hold every slot");
  assert.equal(ready, false, "ready while a chunk waits for a slot");
  assert.deepEqual(started, [0, 1, 2]);
  gate.resolve();
  await fourth;
  await waiting;
  const writes: Promise<void>[] = [];
  for (let i = 4; i < 10; i++) {
    await writer.ready;
    writes.push(writer.write(i));
  }
  await Promise.all(writes);
  await writer.close();
  assert.deepEqual(await out, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("map() runs sync functions and accepts concurrency Infinity", async () => {
  const out = ReadableStream.from([1, 2, 3]).pipeThrough(
    map((x: number) => x + 1, { concurrency: Infinity }),
  );
  assert.deepEqual(await Array.fromAsync(out), [2, 3, 4]);
});

Deno.test("map(), filter() and flatMap() call a plain function with no this, not with the stage", async () => {
  const seen: unknown[] = [];
  function task(this: unknown, x: number): number {
    seen.push(this);
    return x;
  }
  function keep(this: unknown, _x: number): boolean {
    seen.push(this);
    return true;
  }
  function twice(this: unknown, x: number): number[] {
    seen.push(this);
    return [x, x];
  }
  const out = ReadableStream.from([1, 2])
    .pipeThrough(map(task))
    .pipeThrough(filter(keep))
    .pipeThrough(flatMap(twice));
  assert.deepEqual(await Array.fromAsync(out), [1, 1, 2, 2]);
  assert.deepEqual(seen, [undefined, undefined, undefined, undefined, undefined, undefined]);
});

Deno.test("map() calls the function itself, not a call property of its own", async () => {
  const double = Object.assign((x: number) => 2 * x, { call: () => "not this" });
  const out = ReadableStream.from([1, 2]).pipeThrough(map(double));
  assert.deepEqual(await Array.fromAsync(out), [2, 4]);
});

Deno.test("map() in fused chains: a later stage's error cancels the earlier stages", async () => {
  let cleanedUp = false;
  function* numbers() {
    try {
      for (let i = 0;; i++) yield i;
    } finally {
      cleanedUp = true;
    }
  }
  let abortedEarly = 0;
  const { source } = await import("../mod.ts");
  const out = source(numbers())
    .pipeThrough(map(async (x: number, { signal }) => {
      if (x > 2) {
        try {
          await sleep(10_000, signal);
        } catch (error) {
          abortedEarly++;
          throw error;
        }
      }
      return x;
    }, { concurrency: 4 }))
    .pipeThrough(map((x: number) => {
      if (x === 2) throw new RangeError("late");
      return x;
    }, { name: "late" }));
  await assert.rejects(
    Array.fromAsync(out),
    (error: unknown) => error instanceof StageError && error.stage === "late",
  );
  assert(abortedEarly > 0);
  await eventually(() => cleanedUp, "the generator's finally");
});

Deno.test("map() iteration stopped early cancels the source", async () => {
  let cleanedUp = false;
  function* numbers() {
    try {
      for (let i = 0;; i++) yield i;
    } finally {
      cleanedUp = true;
    }
  }
  const { source } = await import("../mod.ts");
  const seen: number[] = [];
  for await (
    const x of source(numbers()).pipeThrough(
      map((x: number) => Promise.resolve(x), { concurrency: 4 }),
    )
  ) {
    seen.push(x);
    if (x === 5) break;
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  await eventually(() => cleanedUp, "the generator's finally");
});

Deno.test("map() with concurrency Infinity keeps order while thousands of results wait", async () => {
  const gate = Promise.withResolvers<void>();
  let done = 0;
  const out = ReadableStream.from(Array.from({ length: 3000 }, (_, i) => i)).pipeThrough(
    map(async (x: number) => {
      if (x === 0) await gate.promise;
      else await sleep(x % 3);
      done++;
      return x;
    }, { concurrency: Infinity }),
  );
  const result = Array.fromAsync(out);
  await eventually(() => done === 2999, "every item but the first to finish");
  gate.resolve();
  assert.deepEqual(await result, Array.from({ length: 3000 }, (_, i) => i));
});

Deno.test("map() fed by a stream holds a chunk that came when its room had shrunk, and runs it in order once room is back", async () => {
  // The layer above (a pool) may shrink a stage's room while reads are
  // pending: what such a read brings waits, and starts only when there is room.
  let limit = 4;
  const gates = Array.from({ length: 6 }, () => Promise.withResolvers<void>());
  let enqueued = 0;
  const input = new ReadableStream<number>({
    async pull(controller) {
      if (enqueued === 6) return controller.close();
      await gates[enqueued]!.promise;
      controller.enqueue(enqueued++);
    },
  }, { highWaterMark: 0 });
  const tasks = Array.from({ length: 6 }, () => Promise.withResolvers<void>());
  const started: number[] = [];
  let active = 0;
  let most = 0;
  const options = {
    concurrency: 8,
    [HOOKS]: { room: (n: number) => n < limit },
  } as MapOptions;
  const stage = map(async (x: number) => {
    started.push(x);
    most = Math.max(most, ++active - limit);
    await tasks[x]!.promise;
    active--;
    return x;
  }, options);
  const out = Array.fromAsync(input.pipeThrough(stage));
  gates[0]!.resolve();
  gates[1]!.resolve();
  await eventually(() => started.length === 2, "tasks 0 and 1 started");
  limit = 2;
  gates[2]!.resolve();
  gates[3]!.resolve();
  await eventually(() => enqueued === 4, "chunks 2 and 3 read");
  await settle(5);
  assert.deepEqual(started, [0, 1], "a chunk started past the room");
  tasks[0]!.resolve();
  await eventually(() => started.length === 3, "task 2 started");
  await settle(5);
  assert.deepEqual(started, [0, 1, 2]);
  limit = 8;
  tasks[1]!.resolve();
  await eventually(() => started.length === 4, "task 3 started");
  for (const gate of gates) gate.resolve();
  for (const task of tasks) task.resolve();
  assert.deepEqual(await out, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  assert.equal(most, 0, "more tasks than the room at once");
  assert.equal(stage.stats().itemsIn, 6);
});
