// Durations: every option that is a time accepts Infinity ("never") and
// refuses, by name, what a timer cannot hold (above 2^31 - 1 ms, where
// setTimeout would fire after 1 ms instead).

import assert from "node:assert/strict";
import { batch, PipelineBuilder, ProcessPool, source, WorkerPool } from "../mod.ts";
import { parseSpec } from "../src/config/mod.ts";

const TOO_LONG = [2 ** 31, 1e12, Number.MAX_VALUE];
const LIMIT = /up to 2147483647, or Infinity/;

Deno.test("durations above 2^31 - 1 ms are RangeErrors naming the option, in every front-end", async () => {
  for (const ms of TOO_LONG) {
    const named = (option: string) => (e: unknown) => {
      assert(e instanceof RangeError, `${option} ${ms}: ${e}`);
      assert.match(e.message, new RegExp(`${option} must be`));
      assert.match(e.message, LIMIT);
      return true;
    };
    assert.throws(() => batch(2, { maxWaitMs: ms }), named("maxWaitMs"));
    assert.throws(() => new WorkerPool({ idleTimeout: ms }), named("idleTimeout"));
    assert.throws(() => new ProcessPool({ idleTimeout: ms }), named("idleTimeout"));
    assert.throws(
      () =>
        new PipelineBuilder().addSource([1]).addSink().build({
          reportStatsInterval: ms,
          onStats: () => {},
        }),
      named("reportStatsInterval"),
    );
    await using pipeline = new PipelineBuilder().addSource([1]).addSink().build();
    await assert.rejects(pipeline.getItem({ timeout: ms }), named("timeout"));
    const result = await parseSpec(
      `source: { range: 3 }\nstages: []\nsink: { stdout: jsonl }\noptions:\n  reportStatsInterval: ${ms}\n`,
      "s.yaml",
    );
    assert(!result.ok);
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0]!.line, 5);
    assert.match(result.errors[0]!.message, /options\.reportStatsInterval/);
    assert.match(result.errors[0]!.format(), /up to 2147483647, or \.inf\)/); // YAML's Infinity
  }
  assert.throws(() => batch(2, { maxWaitMs: -1 }), /maxWaitMs .* got -1/);
  assert.throws(() => batch(2, { maxWaitMs: NaN }), /maxWaitMs .* got NaN/);
  assert.throws(
    () => new PipelineBuilder().addSource([1]).addSink().build({ reportStatsInterval: 0 }),
    /reportStatsInterval must be a positive number/,
  );
});

Deno.test("batch() with maxWaitMs: Infinity waits for a full batch, as if unset", async () => {
  const { readable, writable } = new TransformStream<number, number>();
  const out = readable.pipeThrough(batch(3, { maxWaitMs: Infinity })).getReader();
  const writer = writable.getWriter();
  const first = out.read();
  for (const x of [1, 2, 3, 4]) await writer.write(x);
  assert.deepEqual(await first, { value: [1, 2, 3], done: false });
  await writer.close();
  assert.deepEqual(await out.read(), { value: [4], done: false });
  assert.deepEqual(await out.read(), { value: undefined, done: true });
});

Deno.test("batch() with the longest maxWaitMs a timer holds still flushes at the end", async () => {
  const out = await Array.fromAsync(
    source([1, 2, 3]).pipeThrough(batch(2, { maxWaitMs: 2 ** 31 - 1 })),
  );
  assert.deepEqual(out, [[1, 2], [3]]);
});

Deno.test("getItem({ timeout: Infinity }) waits without a limit; reportStatsInterval: Infinity reports only at the end", async () => {
  const reports: boolean[] = [];
  await using pipeline = new PipelineBuilder()
    .addSource([1, 2])
    .pipe(async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return x * 10;
    }, { outputOrder: "input" })
    .addSink()
    .build({ reportStatsInterval: Infinity, onStats: (s) => reports.push(s.done) });
  assert.equal(await pipeline.getItem({ timeout: Infinity }), 10);
  assert.equal(await pipeline.getItem({ timeout: Infinity }), 20);
  await assert.rejects(pipeline.getItem({ timeout: Infinity }), /no more items|ended/i);
  assert.deepEqual(reports, [true], "one report, at the end");
});

Deno.test("idleTimeout: Infinity keeps a pool's workers; specs take .inf for reportStatsInterval", async () => {
  await using pool = new WorkerPool({ size: 1, idleTimeout: Infinity });
  assert.equal(pool.stats().workers.length, 1);
  const result = await parseSpec(
    "source: { range: 3 }\nstages: []\nsink: { stdout: jsonl }\noptions:\n  reportStatsInterval: .inf\n",
    "s.yaml",
  );
  assert(result.ok, result.ok ? "" : result.errors.map((e) => e.format()).join("\n"));
  assert.equal(result.spec.options.reportStatsInterval, Infinity);
});
