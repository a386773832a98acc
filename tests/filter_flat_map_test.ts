import assert from "node:assert/strict";
import { filter, flatMap, StageError } from "../mod.ts";
import { modes, sleep } from "./_util.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

for (const { name, from, pipe, collect } of modes) {
  Deno.test(`filter() keeps matching items in input order with async predicates (${name})`, async () => {
    const out = pipe(
      from(range(50)),
      filter(async (x: number) => {
        await sleep((50 - x) % 3);
        return x % 5 === 0;
      }, { concurrency: 8 }),
    );
    assert.deepEqual(await collect(out), [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
  });

  Deno.test(`flatMap() flattens arrays, iterables, async iterables and promises in order (${name})`, async () => {
    async function* twice(x: number) {
      await sleep(1);
      yield x;
      yield x;
    }
    const out = pipe(
      from(range(8)),
      flatMap((x: number): Iterable<number> | AsyncIterable<number> | Promise<number[]> => {
        if (x % 4 === 0) return [x];
        if (x % 4 === 1) return new Set([x, -x]);
        if (x % 4 === 2) return twice(x);
        return sleep(3 - (x % 3)).then(() => []);
      }, { concurrency: 4 }),
    );
    assert.deepEqual(await collect(out), [0, 1, -1, 2, 2, 4, 5, -5, 6, 6]);
  });

  Deno.test(`flatMap() fails the item whose function returns a non-iterable (${name})`, async () => {
    const out = pipe(from([1, 2]), flatMap((x: number) => (x === 2 ? 7 : [x]) as number[]));
    await assert.rejects(collect(out), (error: unknown) => {
      assert(error instanceof StageError);
      assert.equal(error.stage, "flatMap");
      assert.equal(error.index, 1);
      assert(error.cause instanceof TypeError);
      return true;
    });
  });
}

Deno.test("flatMap() stops delivering when the stage after it fails midway", async () => {
  const { map, source } = await import("../mod.ts");
  const seen: number[] = [];
  const out = source([0, 1])
    .pipeThrough(flatMap((x: number) => [x * 10, x * 10 + 1, x * 10 + 2]))
    .pipeThrough(map((y: number) => {
      seen.push(y);
      if (y === 1) throw new Error("stop at 1");
      return y;
    }, { name: "after" }));
  await assert.rejects(
    Array.fromAsync(out),
    (error: unknown) => error instanceof StageError && error.stage === "after",
  );
  assert.deepEqual(seen, [0, 1]);
});
