import assert from "node:assert/strict";
import {
  action,
  Batch,
  type BatchActionStats,
  type BatchRunStats,
  BatchTraceRecorder,
  type ChromeTraceEvent,
  Dataset,
  renderBatchStats,
  SkipBatch,
} from "../src/batch/mod.ts";

type Span = ChromeTraceEvent & { dur: number };

/** A clock that moves one millisecond at every reading: no two readings are equal. */
function counting(): () => number {
  let t = 0;
  return () => ++t;
}

const spans = (trace: BatchTraceRecorder, cat?: string): Span[] =>
  trace.toJSON().traceEvents.filter((e): e is Span =>
    e.ph === "X" && (cat === undefined || e.cat === cat)
  );
const end = (e: Span) => e.ts + e.dur;
const batchOf = (e: ChromeTraceEvent) => e.args?.batch as number;

/** Holds the clock until it moves: a call that ends after this took measurable time. */
function tick(): void {
  const t = performance.now();
  while (performance.now() === t);
}

Deno.test("the seed's prefetch listing as a trace: batches in flight overlap, one track each, at most prefetch + 1", async () => {
  // Every action1 waits until three batches are in it: prefetch 2 runs them all at once.
  const inAction1 = new Set<number>();
  const three = Promise.withResolvers<void>();
  class Seed extends Batch<number> {
    @action
    async action1(): Promise<void> {
      inAction1.add(this.indices[0]!);
      if (inAction1.size === 3) three.resolve();
      await three.promise;
    }
    @action
    async action2(): Promise<void> {
      await null;
    }
    @action
    action3(): void {}
  }
  const trace = new BatchTraceRecorder({ now: counting() });
  const pipeline = new Dataset(10, Seed).p.action1().action2().action3();
  const out = await Array.fromAsync(pipeline.genBatch(2, { prefetch: 2, trace }));
  assert.equal(out.length, 5);

  const actions = spans(trace, "action");
  assert.equal(actions.length, 15, "one span per action per batch");
  assert.deepEqual(
    actions.filter((e) => batchOf(e) === 1).map((e) => [e.name, e.args]),
    [1, 2, 3].map((n) => [`action${n}`, { batch: 1, action: n, outcome: "ok" }]),
  );
  // action 1 of batches 1, 2 and 3: each started before any of them finished.
  const first = actions.filter((e) => e.name === "action1" && batchOf(e) <= 3);
  assert.equal(first.length, 3);
  assert.ok(
    Math.max(...first.map((e) => e.ts)) < Math.min(...first.map(end)),
    "the spans of three batches overlap",
  );

  // One track per batch in flight: three tracks, reused by batches 4 and 5.
  const batches = spans(trace, "batch");
  assert.deepEqual(batches.map(batchOf).sort(), [1, 2, 3, 4, 5]);
  const tracks = new Set(batches.map((e) => e.tid));
  assert.equal(tracks.size, 3, "prefetch 2: at most 3 batches in flight");
  assert.ok(!tracks.has(0), "track 0 is the consumer's");
  for (const tid of tracks) {
    const on = batches.filter((e) => e.tid === tid).sort((a, b) => a.ts - b.ts);
    for (let i = 1; i < on.length; i++) {
      assert.ok(end(on[i - 1]!) <= on[i]!.ts, `batches on track ${tid} follow one another`);
    }
  }
  // Each action span lies inside its batch's span, on its track.
  for (const a of actions) {
    const b = batches.find((e) => batchOf(e) === batchOf(a))!;
    assert.equal(a.tid, b.tid);
    assert.ok(b.ts <= a.ts && end(a) <= end(b), `${a.name} of batch ${batchOf(a)} in its batch`);
  }
  assert.deepEqual(batches.find((e) => batchOf(e) === 5)!.args, {
    batch: 5,
    size: 2,
    outcome: "ok",
  });

  // Every track used is named, the run is a process, the consumer's waits are on track 0.
  const events = trace.toJSON().traceEvents;
  const named = events.filter((e) => e.ph === "M" && e.name === "thread_name");
  assert.deepEqual(named.map((e) => [e.tid, e.args?.name]), [
    [0, "consumer"],
    [1, "batch track 1"],
    [2, "batch track 2"],
    [3, "batch track 3"],
  ]);
  assert.deepEqual(
    events.find((e) => e.name === "process_name")?.args,
    { name: "batch run 1 (genBatch)" },
  );
  assert.deepEqual(spans(trace, "consumer").map(batchOf), [1, 2, 3, 4, 5]);
  assert.ok(spans(trace, "consumer").every((e) => e.tid === 0));
  assert.deepEqual(
    events.filter((e) => e.ph === "i").map((e) => [e.name, e.args]),
    [["run done", { run: 1, how: "done" }]],
  );
  // A trace file: JSON with microsecond times, every span well formed.
  const file = JSON.parse(JSON.stringify(trace));
  assert.equal(file.displayTimeUnit, "ms");
  for (const e of file.traceEvents as ChromeTraceEvent[]) {
    assert.equal(typeof e.name, "string");
    assert.ok(["X", "i", "M"].includes(e.ph));
    assert.ok(Number.isFinite(e.ts) && e.ts >= 0);
    assert.equal(e.pid, 1);
    if (e.ph === "X") assert.ok(e.dur! > 0 && Number.isInteger(e.dur! / 1000));
  }
});

Deno.test("without prefetch, batches run one after another on one track", async () => {
  class Rows extends Batch<number> {
    @action
    load() {}
    @action
    check() {}
  }
  const trace = new BatchTraceRecorder({ now: counting() });
  await new Dataset(6, Rows).p.load().check().run(2, { trace });
  const actions = spans(trace, "action").sort((a, b) => a.ts - b.ts);
  assert.deepEqual(
    actions.map((e) => [batchOf(e), e.name]),
    [1, 2, 3].flatMap((b) => [[b, "load"], [b, "check"]]),
  );
  for (let i = 1; i < actions.length; i++) assert.ok(end(actions[i - 1]!) < actions[i]!.ts);
  assert.deepEqual(
    new Set(spans(trace).filter((e) => e.tid !== 0).map((e) => e.tid)),
    new Set([1]),
  );
});

Deno.test("a contended lock: the wait is a span on the waiting batch's track, and counted in the stats", async () => {
  // Batches 1 and 2 are made together (prefetch 1) and both go for the lock
  // at once: batch 2 waits while batch 1 saves.
  class Saved extends Batch<number> {
    @action({ useLock: true })
    save(): void {
      tick();
    }
    @action({ useLock: "disk" })
    write(): void {}
  }
  const trace = new BatchTraceRecorder({ now: counting() });
  let stats: BatchRunStats | undefined;
  await new Dataset(4, Saved).p.save().write().run(2, {
    prefetch: 1,
    trace,
    onStats: (s) => stats = s,
  });

  const waits = spans(trace, "lock wait");
  assert.equal(waits.length, 1, "batch 1 found the lock free");
  const [wait] = waits;
  assert.equal(wait!.name, "lock wait: save");
  assert.deepEqual(wait!.args, { batch: 2, action: 1, name: "save", lock: "save" });
  const saves = spans(trace, "action").filter((e) => e.name === "save");
  const save1 = saves.find((e) => batchOf(e) === 1)!;
  const save2 = saves.find((e) => batchOf(e) === 2)!;
  const batch2 = spans(trace, "batch").find((e) => batchOf(e) === 2)!;
  assert.equal(wait!.tid, batch2.tid, "on batch 2's track");
  assert.notEqual(wait!.tid, save1.tid);
  assert.ok(wait!.ts < save1.ts, "batch 2 waits from before batch 1 saves");
  assert.ok(end(save1) <= end(wait!), "until batch 1 is done");
  assert.ok(end(wait!) <= save2.ts, "then saves");

  const [save, write] = stats!.actions;
  assert.equal(save!.lock, "save");
  assert.equal(save!.calls, 2);
  assert.equal(save!.lockWaits, 1);
  assert.ok(save!.lockWaitMs!.total > 0, "a contended lock waits a measurable time");
  assert.ok(save!.lockWaitMs!.p99 > 0);
  assert.equal(write!.lock, "disk");
  assert.notEqual(write!.lockWaitMs, undefined);
});

Deno.test("an uncontended lock waits 0, and an action without a lock reports no lock wait", async () => {
  class Saved extends Batch<number> {
    @action
    load() {}
    @action({ useLock: true })
    save() {}
  }
  const trace = new BatchTraceRecorder();
  let stats: BatchRunStats | undefined;
  await new Dataset(6, Saved).p.load().save().run(2, { trace, onStats: (s) => stats = s });
  const [load, save] = stats!.actions;
  assert.deepEqual([load!.lock, load!.lockWaits, load!.lockWaitMs], [undefined, 0, undefined]);
  assert.deepEqual([save!.lock, save!.lockWaits, save!.lockWaitMs], ["save", 0, {
    total: 0,
    p99: 0,
  }]);
  assert.equal(spans(trace, "lock wait").length, 0, "no wait, no span");
});

Deno.test("per-action stats: calls equal batches, failures and skips counted, busy time and latency measured", async () => {
  const MS = 2;
  class Rows extends Batch<number> {
    @action
    load(): void {
      const t = performance.now();
      while (performance.now() - t < MS); // at least MS per call
    }
    @action
    check(): void {
      if (this.indices[0] === 2) throw new SkipBatch("batch 2 is bad");
    }
    @action
    save() {}
  }
  const reports: BatchRunStats[] = [];
  await new Dataset(10, Rows).p.load().check().save().run(2, {
    onStats: (s) => reports.push(s),
  });
  assert.equal(reports.length, 1, "without reportStatsInterval, one report at the end");
  const stats = reports[0]!;
  assert.equal(stats.done, true);
  assert.deepEqual(
    [stats.created, stats.delivered, stats.skipped, stats.inFlight],
    [5, 4, 1, 0],
  );
  assert.ok(stats.elapsedMs >= 5 * MS);
  const counts = (a: BatchActionStats) => [a.name, a.action, a.calls, a.failures, a.skipped];
  assert.deepEqual(stats.actions.map(counts), [
    ["load", 1, 5, 0, 0],
    ["check", 2, 5, 0, 1],
    ["save", 3, 4, 0, 0],
  ]);
  const load = stats.actions[0]!;
  assert.equal(load.inFlight, 0);
  assert.ok(load.busyMs >= 5 * MS, `busy ${load.busyMs} ms`);
  assert.ok(load.latencyMs!.p50 >= MS && load.latencyMs!.p99 >= load.latencyMs!.p50);
  assert.ok(load.busyMs <= stats.elapsedMs);

  // A failure ends the run; the last report still comes, and counts it.
  class Failing extends Batch<number> {
    @action
    load() {}
    @action
    boom(): void {
      if (this.indices[0] === 2) throw new Error("boom");
    }
  }
  let last: BatchRunStats | undefined;
  await assert.rejects(
    new Dataset(8, Failing).p.load().boom().run(2, { onStats: (s) => last = s }),
    /boom/,
  );
  assert.equal(last!.done, true);
  assert.deepEqual(last!.actions.map(counts), [["load", 1, 2, 0, 0], ["boom", 2, 2, 1, 0]]);
  assert.deepEqual([last!.created, last!.delivered], [2, 1]);
});

Deno.test("an action chained twice has an entry per call, in chain order", async () => {
  class Numbers extends Batch<number> {
    values: number[] = [];
    @action
    load() {
      this.values = [...this.indices];
    }
    @action
    scale(by: number) {
      this.values = this.values.map((x) => x * by);
    }
  }
  let stats: BatchRunStats | undefined;
  await new Dataset(4, Numbers).p.load().scale(2).scale(3).run(2, { onStats: (s) => stats = s });
  assert.deepEqual(stats!.actions.map((a) => [a.action, a.name, a.calls]), [
    [1, "load", 2],
    [2, "scale", 2],
    [3, "scale", 2],
  ]);
});

Deno.test("reportStatsInterval reports while the run goes on: a running action sees itself in flight", async () => {
  const running = Promise.withResolvers<BatchRunStats>();
  class Slow extends Batch<number> {
    @action
    async work(): Promise<void> {
      if (this.indices[0] === 0) await running.promise; // until a report shows it running
    }
  }
  const reports: BatchRunStats[] = [];
  await new Dataset(4, Slow).p.work().run(2, {
    reportStatsInterval: 1,
    onStats: (s) => {
      reports.push(s);
      if (!s.done && s.actions[0]!.inFlight === 1) running.resolve(s);
    },
  });
  const during = await running.promise;
  assert.deepEqual(
    [during.done, during.created, during.delivered, during.inFlight],
    [false, 1, 0, 1],
  );
  assert.deepEqual([during.actions[0]!.calls, during.actions[0]!.latencyMs], [1, undefined]);
  const last = reports.at(-1)!;
  assert.equal(last.done, true);
  assert.equal(reports.filter((r) => r.done).length, 1, "one last report");
  assert.equal(last.actions[0]!.calls, 2);
  // The run's timer is gone (the test's sanitizer checks it too): nothing after the last report.
  assert.equal(reports.indexOf(last), reports.length - 1);
});

Deno.test("a cancelled run reports once, done, and marks its end in the trace", async () => {
  class Rows extends Batch<number> {
    @action
    load() {}
  }
  const trace = new BatchTraceRecorder();
  const reports: BatchRunStats[] = [];
  const pipeline = new Dataset(100, Rows).p.load();
  for await (const _ of pipeline.genBatch(2, { trace, onStats: (s) => reports.push(s) })) break;
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.done, true);
  assert.equal(reports[0]!.delivered, 1);
  const marks = trace.toJSON().traceEvents.filter((e) => e.ph === "i");
  assert.deepEqual(marks.map((e) => e.name), ["run cancelled"]);
});

Deno.test("one recorder for several runs: a process per run; maxEvents bounds the events kept", async () => {
  class Rows extends Batch<number> {
    @action
    load() {}
  }
  const trace = new BatchTraceRecorder();
  const pipeline = new Dataset(4, Rows).p.load();
  await pipeline.run(2, { trace });
  await Array.fromAsync(pipeline.genBatch(2, { trace }));
  const processes = trace.toJSON().traceEvents.filter((e) => e.name === "process_name");
  assert.deepEqual(processes.map((e) => [e.pid, e.args?.name]), [
    [1, "batch run 1 (run)"],
    [2, "batch run 2 (genBatch)"],
  ]);
  assert.deepEqual(spans(trace, "action").map((e) => [e.pid, batchOf(e)]), [
    [1, 1],
    [1, 2],
    [2, 1],
    [2, 2],
  ]);

  const small = new BatchTraceRecorder({ maxEvents: 3 });
  await pipeline.run(2, { trace: small });
  assert.equal(small.size, 3);
  // 2 batches: 2 actions, 2 batch spans, 2 consumer waits and the end mark.
  assert.equal(small.dropped, 4);
});

Deno.test("the stats table: a row per action, lock columns for locked actions", () => {
  const action = (over: Partial<BatchActionStats>): BatchActionStats => ({
    name: "load",
    action: 1,
    calls: 1200,
    failures: 0,
    skipped: 0,
    inFlight: 2,
    busyMs: 2500,
    latencyMs: { p50: 1.5, p90: 3, p99: 12 },
    lock: undefined,
    lockWaits: 0,
    lockWaitMs: undefined,
    ...over,
  });
  const table = renderBatchStats({
    elapsedMs: 4000,
    done: false,
    created: 1203,
    delivered: 1200,
    skipped: 0,
    inFlight: 3,
    consumerWaitMs: 500,
    actions: [
      action({}),
      action({
        name: "save",
        action: 2,
        lock: "disk",
        lockWaits: 40,
        lockWaitMs: { total: 1500, p99: 150 },
        latencyMs: undefined,
      }),
    ],
  });
  assert.equal(
    table,
    [
      "batch run running: 4.00 s elapsed, 1,203 batches made, 1,200 delivered (300/s), " +
      "consumer waited 0.50 s, latency in ms",
      "# action calls failed active busy s  p50  p90  p99 lock waits wait s wait p99",
      "1 load   1,200      0      2   2.50 1.50 3.00 12.0 -        -      -        -",
      "2 save   1,200      0      2   2.50    -    -    - disk    40   1.50      150",
    ].join("\n"),
  );
});

Deno.test("misspelt or wrong options are TypeErrors naming the function and the closest option", () => {
  class Rows extends Batch<number> {
    @action
    load() {}
  }
  const p = new Dataset(4, Rows).p.load();
  assert.throws(() => p.genBatch(2, { onStat: () => {} } as never), {
    name: "TypeError",
    message: /^genBatch: unknown option "onStat" \(did you mean onStats\?\)/,
  });
  assert.throws(() => p.genBatch(2, { reportStatInterval: 10 } as never), {
    name: "TypeError",
    message:
      /^genBatch: unknown option "reportStatInterval" \(did you mean reportStatsInterval\?\)/,
  });
  assert.throws(() => p.genBatch(2, { statsInterval: 10 } as never), {
    name: "TypeError",
    message: /^genBatch: unknown option "statsInterval" \(did you mean reportStatsInterval\?\)/,
  });
  assert.throws(() => p.genBatch(2, { reportStatsInterval: 10 }), {
    name: "TypeError",
    message: "genBatch: reportStatsInterval needs onStats to report to",
  });
  assert.throws(() => p.genBatch(2, { reportStatsInterval: 0, onStats: () => {} }), {
    name: "RangeError",
    message: /^genBatch: reportStatsInterval must be a positive number of milliseconds/,
  });
  assert.throws(() => p.genBatch(2, { onStats: "log" as never }), {
    name: "TypeError",
    message: 'genBatch: onStats must be a function, got "log"',
  });
  assert.throws(() => p.genBatch(2, { trace: { begin() {} } as never }), {
    name: "TypeError",
    message: /^genBatch: trace must be a function or a BatchTraceRecorder, got/,
  });
  assert.throws(() => new BatchTraceRecorder({ maxEvent: 10 } as never), {
    name: "TypeError",
    message:
      'Cannot create BatchTraceRecorder: unknown option "maxEvent" (did you mean maxEvents?); the options are now, maxEvents',
  });
  assert.throws(() => new BatchTraceRecorder({ maxEvents: -1 }), {
    name: "RangeError",
    message: "Cannot create BatchTraceRecorder: maxEvents must be a non-negative integer, got -1",
  });
});
