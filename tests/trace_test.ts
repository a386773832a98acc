import assert from "node:assert/strict";
import { type ChromeTraceEvent, TraceRecorder } from "../src/pipeline/trace.ts";

/** A recorder on a controllable clock that starts at 1,000 ms. */
function recorder(maxEvents?: number): { trace: TraceRecorder; at: (ms: number) => void } {
  let t = 1000;
  const options = maxEvents === undefined ? { now: () => t } : { now: () => t, maxEvents };
  return { trace: new TraceRecorder(options), at: (ms) => t = 1000 + ms };
}

const tasks = (trace: TraceRecorder): ChromeTraceEvent[] =>
  trace.toJSON().traceEvents.filter((e) => e.ph === "X");

const laneNames = (trace: TraceRecorder): [number, unknown][] =>
  trace.toJSON().traceEvents
    .filter((e) => e.ph === "M" && e.name === "thread_name")
    .map((e) => [e.tid, e.args?.name]);

Deno.test("TraceRecorder records a task as a complete event in microseconds since creation", () => {
  const { trace, at } = recorder();
  at(2.5);
  const started = trace.begin("decode", 7);
  assert.equal(started, 1002.5);
  at(4);
  trace.end("decode", 7, started, false);
  assert.deepEqual(tasks(trace), [{
    name: "decode #7",
    cat: "decode",
    ph: "X",
    ts: 2500,
    dur: 1500,
    pid: 1,
    tid: 0,
    args: { index: 7, ok: false },
  }]);
  assert.equal(trace.size, 1);
  assert.equal(trace.dropped, 0);
});

Deno.test("TraceRecorder puts concurrent tasks of a stage on separate lanes and reuses freed ones", () => {
  const { trace, at } = recorder();
  const a = trace.begin("fetch", 0);
  const b = trace.begin("fetch", 1);
  const c = trace.begin("fetch", 2);
  at(1);
  trace.end("fetch", 1, b, true); // frees lane 1
  const d = trace.begin("fetch", 3); // takes lane 1 again
  const p = trace.begin("parse", 0); // the second stage: tids from 1000
  at(2);
  trace.end("fetch", 0, a, true);
  trace.end("fetch", 2, c, true);
  trace.end("fetch", 3, d, true);
  trace.end("parse", 0, p, true);
  const e = trace.begin("fetch", 4); // every lane free: the lowest
  at(3);
  trace.end("fetch", 4, e, true);
  const lanes = Object.fromEntries(tasks(trace).map((event) => [event.name, event.tid]));
  assert.deepEqual(lanes, {
    "fetch #0": 0,
    "fetch #1": 1,
    "fetch #2": 2,
    "fetch #3": 1,
    "parse #0": 1000,
    "fetch #4": 0,
  });
  // No two tasks overlap on one lane.
  const byLane = Map.groupBy(tasks(trace), (event) => event.tid);
  for (const events of byLane.values()) {
    events.sort((x, y) => x.ts - y.ts);
    for (let i = 1; i < events.length; i++) {
      assert.ok(events[i]!.ts >= events[i - 1]!.ts + events[i - 1]!.dur!);
    }
  }
});

Deno.test("TraceRecorder names each lane after its stage in metadata events", () => {
  const { trace } = recorder();
  const a = trace.begin("read", 0);
  const b = trace.begin("read", 1);
  trace.end("read", 0, a, true);
  trace.end("read", 1, b, true);
  trace.end("read", 2, trace.begin("read", 2), true); // reuses lane 0: no new name
  trace.end("write", 0, trace.begin("write", 0), true);
  assert.deepEqual(laneNames(trace), [[0, "read 0"], [1, "read 1"], [1000, "write 0"]]);
  const meta = trace.toJSON().traceEvents.filter((e) => e.ph === "M");
  assert.ok(meta.every((e) => e.pid === 1 && e.ts === 0));
  assert.deepEqual(
    meta.filter((e) => e.name === "thread_sort_index").map((e) => e.args?.sort_index),
    [0, 1, 1000],
  );
  // Metadata comes first and is not counted in size.
  assert.equal(trace.size, 4);
  assert.equal(trace.toJSON().traceEvents.length, 4 + 6);
  assert.equal(trace.toJSON().traceEvents[0]!.ph, "M");
});

Deno.test("TraceRecorder drops and counts events past maxEvents", () => {
  const { trace } = recorder(3);
  for (let i = 0; i < 5; i++) trace.end("map", i, trace.begin("map", i), true);
  trace.instant("cancel");
  assert.equal(trace.size, 3);
  assert.equal(trace.dropped, 3);
  assert.deepEqual(tasks(trace).map((e) => e.name), ["map #0", "map #1", "map #2"]);
  assert.deepEqual(laneNames(trace), [[0, "map 0"]]);
  const none = recorder(0).trace;
  none.instant("x");
  assert.deepEqual([none.size, none.dropped], [0, 1]);
  assert.throws(() => new TraceRecorder({ maxEvents: -1 }), /maxEvents must be a non-negative/);
  assert.throws(() => new TraceRecorder({ maxEvents: 1.5 }), RangeError);
});

Deno.test("TraceRecorder records instant events with their args", () => {
  const { trace, at } = recorder();
  at(1.25);
  trace.instant("error", { stage: "parse", message: "bad line" });
  trace.instant("cancel");
  assert.deepEqual(trace.toJSON().traceEvents, [
    {
      name: "error",
      ph: "i",
      s: "g",
      ts: 1250,
      pid: 1,
      tid: 0,
      args: { stage: "parse", message: "bad line" },
    },
    { name: "cancel", ph: "i", s: "g", ts: 1250, pid: 1, tid: 0 },
  ]);
});

Deno.test("TraceRecorder copes with an end that had no begin and with a reused index", () => {
  const { trace, at } = recorder();
  trace.end("late", 9, 1000, true); // no begin: lane 0, still named
  const a = trace.begin("dup", 1);
  const b = trace.begin("dup", 1);
  at(1);
  trace.end("dup", 1, b, true);
  trace.end("dup", 1, a, true);
  const c = trace.begin("dup", 2);
  trace.end("dup", 2, c, true);
  assert.deepEqual(tasks(trace).map((e) => e.tid), [0, 1001, 1000, 1000]);
  assert.deepEqual(laneNames(trace), [[0, "late 0"], [1000, "dup 0"], [1001, "dup 1"]]);
});

Deno.test("JSON.stringify of a TraceRecorder is a trace file that parses back", () => {
  const trace = new TraceRecorder();
  const started = trace.begin("stage", 0);
  trace.end("stage", 0, started, true);
  trace.instant("done", { items: 1 });
  const file: { traceEvents: ChromeTraceEvent[]; displayTimeUnit: string } = JSON.parse(
    JSON.stringify(trace),
  );
  assert.equal(file.displayTimeUnit, "ms");
  assert.ok(Array.isArray(file.traceEvents));
  assert.deepEqual(file, trace.toJSON());
  const task = file.traceEvents.find((e) => e.ph === "X");
  assert.ok(task !== undefined && task.ts >= 0 && task.dur! >= 0);
  assert.deepEqual(new Set(file.traceEvents.map((e) => e.ph)), new Set(["M", "X", "i"]));
});
