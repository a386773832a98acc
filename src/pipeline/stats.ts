/**
 * Pipeline statistics: each stage's own figures (busy time, latency,
 * output-buffer occupancy, measured by the stage's meter) with its kind, a
 * bottleneck guess and a text table.
 *
 * @module
 */

import type { PoolStats } from "../exec/pool_types.ts";

/**
 * Statistics of one stage of a pipeline: the stage's own `StageStats` (the
 * same figures a stand-alone stage reports) and its `kind`.
 *
 * @example A stage's counters after a run
 * ```ts
 * import { PipelineBuilder, type PipelineStageStats } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * await using pipeline = new PipelineBuilder().addSource([1, 2, 3])
 *   .pipe((x: number) => x + 1, { name: "increment", concurrency: 2 })
 *   .addSink().build();
 * await Array.fromAsync(pipeline);
 * const stage: PipelineStageStats = pipeline.stats().stages.find((s) => s.name === "increment")!;
 * assert.equal(stage.kind, "pipe");
 * assert.deepEqual([stage.itemsIn, stage.itemsOut, stage.failures], [3, 3, 0]);
 * assert.equal(stage.concurrency, 2);
 * assert.notEqual(stage.latencyMs, undefined);
 * ```
 */
export interface PipelineStageStats {
  /** The stage's name. */
  name: string;
  /** What the stage does. */
  kind: "pipe" | "aggregate" | "disaggregate" | "sink";
  /** Items taken from upstream. */
  itemsIn: number;
  /** Items given downstream. */
  itemsOut: number;
  /** Tasks that failed. */
  failures: number;
  /** Tasks running now. */
  inFlight: number;
  /** Most tasks the stage runs at once; `Infinity` for no limit. */
  concurrency: number;
  /** Sum of the durations of finished tasks, in milliseconds. */
  busyMs: number;
  /** Task latency quantiles in milliseconds; `undefined` until a task finished. */
  latencyMs: { p50: number; p90: number; p99: number } | undefined;
  /** Share (0..1) of the elapsed time the stage's output buffer held at least one item. */
  occupancy: number;
  /** Share (0..1) of the elapsed time the stage's output buffer was at capacity. */
  fullness: number;
  /** Items in the stage's output buffer now. */
  buffered: number;
}

/**
 * Statistics of a whole pipeline, stages in order from source to sink.
 *
 * @example The report `onStats` gets at the end
 * ```ts
 * import { PipelineBuilder, type PipelineStats } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const reports: PipelineStats[] = [];
 * await using pipeline = new PipelineBuilder().addSource([1, 2, 3])
 *   .pipe((x: number) => x * x, { name: "square" })
 *   .addSink().build({ onStats: (stats) => reports.push(stats) });
 * await Array.fromAsync(pipeline);
 * const last = reports.at(-1)!;
 * assert.equal(last.done, true);
 * assert.equal(last.stages.find((s) => s.name === "square")?.itemsOut, 3);
 * ```
 */
export interface PipelineStats {
  /** Milliseconds since the pipeline started. */
  elapsedMs: number;
  /** Whether the pipeline has finished. */
  done: boolean;
  /** One entry per stage, from source to sink. */
  stages: PipelineStageStats[];
  /**
   * The pools the stages run on, in the order the stages first use them:
   * those the pipeline made (`executor: "workers"` or `"processes"`) and
   * those given as executors (for a `NatsPool`, `workers` are the remote
   * workers). `Pipeline.stats()` always fills it in (empty before the
   * pipeline starts and when every stage runs on the event loop).
   */
  pools?: PoolStats[];
}

/**
 * Guesses the stage that holds a pipeline back. A slow stage fills its input
 * buffer (the output buffer of the stage before it: upstream waits on
 * backpressure) while its own output buffer stays mostly empty (downstream
 * waits for it). So among the stages after the first whose input buffer was
 * full at least half the time and whose own output buffer held items less
 * than half the time, this names the one with the fullest input buffer (ties:
 * the input buffer that held items longest, then the earlier stage).
 *
 * @param stats The pipeline's statistics.
 * @returns The stage's name, or `undefined` with fewer than two stages or when no stage stands out.
 *
 * @example The slow middle stage
 * ```ts
 * import { bottleneck, type PipelineStageStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * const stage = (name: string, occupancy: number, fullness: number): PipelineStageStats => ({
 *   name, kind: "pipe", itemsIn: 0, itemsOut: 0, failures: 0, inFlight: 0, concurrency: 1,
 *   busyMs: 0, latencyMs: undefined, occupancy, fullness, buffered: 0,
 * });
 * const stages = [stage("read", 1, 0.9), stage("resize", 0.1, 0), stage("write", 0, 0)];
 * assert.equal(bottleneck({ elapsedMs: 1000, done: false, stages }), "resize");
 * ```
 */
export function bottleneck(stats: PipelineStats): string | undefined {
  const stages = stats.stages;
  let best: PipelineStageStats | undefined;
  let bestInput: PipelineStageStats | undefined;
  for (let i = 1; i < stages.length; i++) {
    const input = stages[i - 1]!;
    const stage = stages[i]!;
    if (input.fullness < 0.5 || stage.occupancy >= 0.5) continue;
    if (
      bestInput === undefined || input.fullness > bestInput.fullness ||
      (input.fullness === bestInput.fullness && input.occupancy > bestInput.occupancy)
    ) {
      best = stage;
      bestInput = input;
    }
  }
  return best?.name;
}

function grouped(n: number, digits: number): string {
  const [whole, fraction] = n.toFixed(digits).split(".");
  const withCommas = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? withCommas : `${withCommas}.${fraction}`;
}

function decimal(n: number): string {
  return grouped(n, n < 10 ? 2 : n < 100 ? 1 : 0);
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/**
 * Renders statistics as a plain-text table for a terminal: a header line with
 * the elapsed time and the throughput in (the first stage's input) and out
 * (the last stage's output, batches after an `aggregate`), one row per stage, and `bottleneck: <name>` when `bottleneck`
 * names one. "active" is tasks in flight over concurrency ("inf" for no
 * limit), "busy s" the summed task time in seconds, p50/p90/p99 the task
 * latency in milliseconds ("-" before any task finished), "occ" and "full"
 * the shares of time the stage's output buffer held items and was at
 * capacity. Columns fit in 100 characters for five stages with 16-character
 * names and counts in the millions.
 *
 * @param stats The pipeline's statistics.
 * @returns The table, lines joined by `\n`, with no trailing newline.
 *
 * @example A two-stage table
 * ```ts
 * import { renderStats, type PipelineStageStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * const base = { failures: 0, inFlight: 0, concurrency: 1, busyMs: 1500, occupancy: 0, fullness: 0, buffered: 0 };
 * const stages: PipelineStageStats[] = [
 *   { ...base, name: "square", kind: "pipe", itemsIn: 2000, itemsOut: 2000, latencyMs: { p50: 1, p90: 2, p99: 3 } },
 *   { ...base, name: "sink", kind: "sink", itemsIn: 2000, itemsOut: 2000, latencyMs: undefined },
 * ];
 * const table = renderStats({ elapsedMs: 2000, done: true, stages });
 * assert.match(table, /1,000 items\/s/);
 * assert.match(table, /square/);
 * ```
 */
export function renderStats(stats: PipelineStats): string {
  const header = ["stage", "kind", "in", "out", "failed", "active", "busy s", "p50", "p90", "p99"];
  header.push("occ", "full");
  const rows = stats.stages.map((s) => {
    const l = s.latencyMs;
    const conc = s.concurrency === Infinity ? "inf" : grouped(s.concurrency, 0);
    return [
      s.name,
      s.kind,
      grouped(s.itemsIn, 0),
      grouped(s.itemsOut, 0),
      grouped(s.failures, 0),
      `${grouped(s.inFlight, 0)}/${conc}`,
      decimal(s.busyMs / 1000),
      ...(l === undefined ? ["-", "-", "-"] : [l.p50, l.p90, l.p99].map(decimal)),
      percent(s.occupancy),
      percent(s.fullness),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  // Two spaces after the text columns, one between right-aligned numbers.
  const pad = (cell: string, c: number) =>
    c < 2 ? `${cell.padEnd(widths[c]!)} ` : cell.padStart(widths[c]!);
  const line = (cells: string[]) => cells.map(pad).join(" ");
  const last = stats.stages.at(-1);
  const seconds = stats.elapsedMs / 1000;
  const rate = last !== undefined && seconds > 0 ? grouped(last.itemsOut / seconds, 0) : "-";
  // What came in: the first stage's input (an aggregate stage makes the
  // rates in and out differ).
  const first = stats.stages[0];
  const inRate = first !== undefined && seconds > 0 ? grouped(first.itemsIn / seconds, 0) : "-";
  const lines = [
    `pipeline ${stats.done ? "done" : "running"}: ${grouped(seconds, 1)} s elapsed, ` +
    `${inRate} items/s in, ${rate} items/s out, latency in ms`,
    line(header),
    ...rows.map(line),
  ];
  const slow = bottleneck(stats);
  if (slow !== undefined) lines.push(`bottleneck: ${slow}`);
  return lines.join("\n");
}

// Every stage meters itself now (src/stream/stage_meter.ts); re-exported
// here, where they were before.
export { LatencySketch } from "../stream/latency_sketch.ts";
export { StageMeter } from "../stream/stage_meter.ts";
