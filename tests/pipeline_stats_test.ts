import assert from "node:assert/strict";
import { PipelineBuilder } from "../mod.ts";
import {
  bottleneck,
  LatencySketch,
  type PipelineStageStats,
  type PipelineStats,
  renderStats,
  StageMeter,
} from "../src/pipeline/stats.ts";

/** A controllable clock in milliseconds. */
function fakeClock(): { now: () => number; set: (ms: number) => void } {
  let t = 0;
  return { now: () => t, set: (ms) => t = ms };
}

function near(actual: number, expected: number, relative: number): void {
  assert.ok(
    Math.abs(actual - expected) <= relative * expected,
    `expected ${actual} within ${relative * 100}% of ${expected}`,
  );
}

function stage(
  name: string,
  occupancy: number,
  fullness: number,
  more: Partial<PipelineStageStats> = {},
): PipelineStageStats {
  return {
    name,
    kind: "pipe",
    itemsIn: 0,
    itemsOut: 0,
    failures: 0,
    inFlight: 0,
    concurrency: 1,
    busyMs: 0,
    latencyMs: undefined,
    occupancy,
    fullness,
    buffered: 0,
    ...more,
  };
}

/** A stage's counters before any item. */
const idle = (name: string, concurrency: number) => ({
  name,
  itemsIn: 0,
  itemsOut: 0,
  failures: 0,
  inFlight: 0,
  concurrency,
  buffered: 0,
});

const pipeline = (stages: PipelineStageStats[]): PipelineStats => ({
  elapsedMs: 10_000,
  done: false,
  stages,
});

Deno.test("LatencySketch estimates quantiles of 1..1000 within 2%", () => {
  const sketch = new LatencySketch();
  for (let ms = 1; ms <= 1000; ms++) sketch.add(ms);
  assert.equal(sketch.count, 1000);
  near(sketch.quantile(0.5), 500, 0.02);
  near(sketch.quantile(0.9), 900, 0.02);
  near(sketch.quantile(0.99), 990, 0.02);
  assert.equal(sketch.quantile(0), 1);
  assert.equal(sketch.quantile(1), 1000);
  const summary = sketch.summary()!;
  near(summary.p50, 500, 0.02);
  near(summary.p90, 900, 0.02);
  near(summary.p99, 990, 0.02);
});

Deno.test("LatencySketch stays within 2% from microseconds to minutes in bounded memory", () => {
  const sketch = new LatencySketch();
  const values: number[] = [];
  let seed = 42;
  for (let i = 0; i < 100_000; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const ms = 10 ** (-2 + 7 * (seed / 2 ** 31)); // 0.01 ms .. 100,000 ms, log-uniform
    values.push(ms);
    sketch.add(ms);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999]) {
    near(sketch.quantile(q), values[Math.round(q * (values.length - 1))]!, 0.02);
  }
});

Deno.test("LatencySketch of one value and of zeros gives the value back", () => {
  const one = new LatencySketch();
  one.add(7.5);
  assert.deepEqual(one.summary(), { p50: 7.5, p90: 7.5, p99: 7.5 });
  const zeros = new LatencySketch();
  for (let i = 0; i < 10; i++) zeros.add(0);
  assert.deepEqual(zeros.summary(), { p50: 0, p90: 0, p99: 0 });
});

Deno.test("LatencySketch is empty until a value is added and rejects bad input", () => {
  const sketch = new LatencySketch();
  assert.equal(sketch.count, 0);
  assert.ok(Number.isNaN(sketch.quantile(0.5)));
  assert.equal(sketch.summary(), undefined);
  assert.throws(() => sketch.add(-1), RangeError);
  assert.throws(() => sketch.add(NaN), RangeError);
  assert.throws(() => sketch.quantile(1.5), /q must be between 0 and 1, got 1.5/);
  assert.equal(sketch.count, 0);
});

Deno.test("StageMeter integrates output-buffer occupancy and fullness over time", () => {
  const clock = fakeClock();
  const meter = new StageMeter(clock.now);
  const counts = {
    name: "decode",
    itemsIn: 5,
    itemsOut: 4,
    failures: 1,
    inFlight: 0,
    concurrency: 4,
    buffered: 4,
  };
  clock.set(10);
  meter.buffer(1, 4); // empty for 10 ms
  clock.set(25);
  meter.buffer(2, 4); // one item for 15 ms, then two
  clock.set(40);
  meter.buffer(4, 4); // at capacity from 40 ms
  clock.set(100);
  let stats = meter.report(counts); // the open interval counts
  assert.equal(stats.occupancy, 0.9);
  assert.equal(stats.fullness, 0.6);
  assert.equal(stats.buffered, 4, "what the stage says it holds");
  meter.buffer(0, 4);
  clock.set(200);
  stats = meter.report({ ...counts, buffered: 0 });
  assert.equal(stats.occupancy, 0.45);
  assert.equal(stats.fullness, 0.3);
  assert.equal(stats.buffered, 0);
  assert.deepEqual(
    [stats.name, stats.itemsIn, stats.itemsOut, stats.failures, stats.inFlight, stats.concurrency],
    ["decode", 5, 4, 1, 0, 4],
  );
});

Deno.test("StageMeter counts a buffer as full only when it holds an item", () => {
  const clock = fakeClock();
  const meter = new StageMeter(clock.now);
  const counts = {
    name: "write",
    itemsIn: 0,
    itemsOut: 0,
    failures: 0,
    inFlight: 0,
    concurrency: Infinity,
    buffered: 1,
  };
  assert.equal(meter.report(counts).occupancy, 0); // no time elapsed: no NaN
  meter.buffer(0, 0);
  clock.set(50);
  meter.buffer(1, 0);
  clock.set(100);
  const stats = meter.report(counts);
  assert.equal(stats.fullness, 0.5);
  assert.equal(stats.occupancy, 0.5);
  assert.equal(stats.concurrency, Infinity);
});

Deno.test("StageMeter reads the clock only when the buffer moves between empty, holding and full", () => {
  let t = 0;
  let reads = 0;
  const meter = new StageMeter(() => (reads++, t));
  const moves: [number, boolean][] = [[0, false], [1, true], [2, false], [3, false], [4, true]];
  for (const [size, move] of moves) {
    const before = reads;
    t += 10;
    meter.buffer(size, 4);
    assert.equal(reads - before, move ? 1 : 0, `to ${size} of 4`);
  }
  t += 10; // of 60 ms: empty for 20, holding for 40, the last 10 of them full
  const stats = meter.report({ ...idle("steady", 1), buffered: 4 });
  assert.deepEqual([stats.occupancy, stats.fullness], [40 / 60, 10 / 60]);
});

Deno.test("StageMeter sums the busy time and latency of overlapping tasks", () => {
  const clock = fakeClock();
  const meter = new StageMeter(clock.now);
  const counts = {
    name: "fetch",
    itemsIn: 2,
    itemsOut: 0,
    failures: 0,
    inFlight: 2,
    concurrency: 2,
    buffered: 0,
  };
  assert.equal(meter.report(counts).latencyMs, undefined);
  assert.equal(meter.report(counts).busyMs, 0);
  const a = meter.taskStarted();
  clock.set(5);
  const b = meter.taskStarted();
  assert.equal(b, 5);
  clock.set(25);
  meter.taskEnded(a); // 25 ms
  clock.set(45);
  meter.taskEnded(b); // 40 ms
  const stats = meter.report({ ...counts, itemsOut: 2, inFlight: 0 });
  assert.equal(stats.busyMs, 65);
  near(stats.latencyMs!.p50, 25, 0.01);
  near(stats.latencyMs!.p99, 40, 0.01);
});

Deno.test("bottleneck() names the slow middle stage", () => {
  // read fills its output: resize cannot keep up; resize's output stays empty.
  const stats = pipeline([
    stage("read", 1, 0.9),
    stage("resize", 0.1, 0.02),
    stage("write", 0, 0, { kind: "sink" }),
  ]);
  assert.equal(bottleneck(stats), "resize");
});

Deno.test("bottleneck() skips stages held back from downstream and names the slowest", () => {
  // A chain backed up from a slow sink: every buffer full, the sink's input the fullest.
  const backedUp = pipeline([
    stage("read", 1, 0.95),
    stage("parse", 1, 0.9),
    stage("store", 0, 0, { kind: "sink" }),
  ]);
  assert.equal(bottleneck(backedUp), "store");
  // Two candidates: the fuller input wins, ties go to the input that held items longer.
  const two = pipeline([stage("a", 1, 0.6), stage("b", 0.2, 0.7), stage("c", 0.1, 0)]);
  assert.equal(bottleneck(two), "c");
  const tie = pipeline([stage("a", 0.8, 0.7), stage("b", 0.9, 0.7), stage("c", 0.1, 0)]);
  assert.equal(bottleneck(tie), "c");
});

Deno.test("bottleneck() is undefined when nothing stands out or with one stage", () => {
  assert.equal(
    bottleneck(pipeline([stage("a", 0.4, 0.3), stage("b", 0.3, 0.1), stage("c", 0, 0)])),
    undefined,
  );
  assert.equal(bottleneck(pipeline([stage("only", 1, 1)])), undefined);
  assert.equal(bottleneck(pipeline([])), undefined);
});

Deno.test("renderStats() aligns a row per stage and names the bottleneck", () => {
  const stats: PipelineStats = {
    elapsedMs: 4000,
    done: false,
    stages: [
      stage("read-the-files", 1, 0.95, { itemsIn: 1_234_567, itemsOut: 1_234_567 }),
      stage("decode-jpeg-imgs", 0.1, 0, {
        itemsIn: 1_234_567,
        itemsOut: 1_234_000,
        failures: 12,
        inFlight: 3,
        concurrency: Infinity,
        busyMs: 1_234_567,
        latencyMs: { p50: 1.234, p90: 45.67, p99: 1234.5 },
      }),
      stage("resize-thumbnail", 0.05, 0, {
        kind: "disaggregate",
        itemsIn: 1_234_000,
        itemsOut: 2_468_000,
        inFlight: 16,
        concurrency: 16,
      }),
      stage("batch-for-upload", 0.2, 0, { kind: "aggregate", itemsIn: 2_468_000, itemsOut: 2468 }),
      stage("upload-to-bucket", 0, 0, { kind: "sink", itemsIn: 2468, itemsOut: 2000 }),
    ],
  };
  const table = renderStats(stats);
  const lines = table.split("\n");
  // In: the first stage took 1,234,567 items in 4 s; out: the sink gave 2,000.
  assert.match(lines[0]!, /running: 4\.0 s elapsed, 308,642 items\/s in, 500 items\/s out/);
  const [header, ...rest] = lines.slice(1);
  const rows = rest.slice(0, stats.stages.length);
  for (const [i, s] of stats.stages.entries()) assert.ok(rows[i]!.startsWith(s.name));
  for (const line of [header!, ...rows]) assert.equal(line.length, header!.length);
  assert.ok(header!.length < 100, `${header!.length} columns`);
  assert.match(header!, /^stage +kind +in +out +failed +active +busy s +p50 +p90 +p99 +occ +full$/);
  assert.match(rows[0]!, / - +- +- +100% +95%$/);
  assert.match(rows[1]!, /1,234,567 1,234,000 +12 +3\/inf +1,235 1\.23 45\.7 1,235 +10% +0%$/);
  assert.match(rows[2]!, /16\/16/);
  assert.equal(lines.at(-1), "bottleneck: decode-jpeg-imgs");
  assert.equal(lines.length, 2 + stats.stages.length + 1);
});

Deno.test("renderStats() leaves out the bottleneck line when there is none", () => {
  const table = renderStats({ elapsedMs: 0, done: true, stages: [stage("only", 0, 0)] });
  const lines = table.split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^pipeline done: 0\.0 s elapsed, - items\/s/);
  assert.doesNotMatch(table, /bottleneck/);
  assert.equal(renderStats(pipeline([])).split("\n").length, 2);
});

Deno.test("StageMeter times tasks under 20 µs one in 16, under 2.5 µs one in 128, and scales the busy time", () => {
  // Task time in ms, and how many of 1,600 tasks are timed: every one; or
  // the first two (the rate a timed task sets applies after the next timed
  // one), then one in 16 or one in 128.
  for (const [ms, timed] of [[0.05, 1600], [0.01, 2 + 99], [0.001, 2 + 12]] as const) {
    let t = 0;
    let reads = 0;
    const meter = new StageMeter(() => {
      reads++;
      return t;
    });
    for (let i = 0; i < 1600; i++) {
      const started = meter.taskStarted();
      t += ms;
      meter.taskEnded(started);
    }
    const stats = meter.report({ ...idle("tiny", 4), itemsIn: 1600, itemsOut: 1600 });
    assert(Math.abs(stats.busyMs - 1600 * ms) < 1e-9, `${ms} ms: busy ${stats.busyMs}`);
    assert(
      Math.abs(stats.latencyMs!.p50 - ms) < ms * 0.05,
      `${ms} ms: p50 ${stats.latencyMs!.p50}`,
    );
    // One read at the start, one for the report, two per timed task.
    assert.equal(reads, 2 + 2 * timed, `${ms} ms: the clock was read ${reads} times`);
    // Tasks still running are not counted as done.
    for (let i = 0; i < 10; i++) meter.taskStarted();
    const running = meter.report({ ...idle("tiny", 4), itemsIn: 1610, inFlight: 10 });
    assert(Math.abs(running.busyMs - 1600 * ms) < 1e-9, `${ms} ms: busy ${running.busyMs}`);
    // Slow tasks are all timed again from the next timed one on.
    reads = 0;
    for (let i = 0; i < 300; i++) {
      const started = meter.taskStarted();
      t += 0.5;
      meter.taskEnded(started);
    }
    assert(reads >= 2 * (300 - 128), `${ms} ms, then slow: ${reads} reads`);
  }
});

Deno.test("StageMeter shares out time of fast buffer changes, but not a buffer that refills at once", () => {
  let t = 0;
  const even = new StageMeter(() => t);
  for (let i = 0; i < 2000; i++) {
    even.buffer(i % 2 === 0 ? 1 : 0, 1);
    t += 0.001;
  }
  const e = even.report(idle("even", 1));
  assert(Math.abs(e.occupancy - 0.5) < 0.05, `occupancy ${e.occupancy}`);
  t = 0;
  const refill = new StageMeter(() => t);
  for (let i = 0; i < 200; i++) {
    refill.buffer(0, 1); // taken, and at once...
    t += 0.001;
    refill.buffer(1, 1); // ...full again for a long while
    t += 4;
  }
  const r = refill.report(idle("refill", 1));
  assert(r.fullness > 0.99, `fullness ${r.fullness}`);
});

Deno.test("a pipeline reports the kind of each stage, and only the kinds it makes", async () => {
  await using pipeline = new PipelineBuilder()
    .addSource([1, 2, 3, 4])
    .pipe((x: number) => x + 1)
    .aggregate(2)
    .disaggregate()
    .addSink()
    .build();
  assert.deepEqual(await Array.fromAsync(pipeline), [2, 3, 4, 5]);
  const kinds: PipelineStageStats["kind"][] = pipeline.stats().stages.map((s) => s.kind);
  assert.deepEqual(kinds, ["pipe", "aggregate", "disaggregate", "sink"]);
  // The source is not a stage: no kind names it.
  // @ts-expect-error: "source" is not a kind
  const source: PipelineStageStats["kind"] = "source";
  assert.equal(kinds.includes(source), false);
});
