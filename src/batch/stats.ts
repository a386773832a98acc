/**
 * Statistics of a batch pipeline run: per action calls, failures, busy time,
 * latency and lock waits, and a text table of them.
 *
 * @module
 */

/**
 * Statistics of one action of a batch pipeline run (one per action call in
 * the chain: an action chained twice has two entries).
 *
 * @example The counters of a locked action
 * ```ts
 * import { action, Batch, type BatchActionStats, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {
 *   @action({ useLock: true }) save() {}
 * }
 * let save: BatchActionStats | undefined;
 * await new Dataset(6, Rows).p.save().run(2, { onStats: (s) => save = s.actions[0] });
 * assert.deepEqual([save!.name, save!.action, save!.calls, save!.failures], ["save", 1, 3, 0]);
 * assert.equal(save!.lock, "save");
 * assert.equal(save!.lockWaits, 0); // one batch at a time: never contended
 * assert.equal(save!.lockWaitMs?.total, 0);
 * ```
 */
export interface BatchActionStats {
  /** The action's method name. */
  name: string;
  /** Its place in the chain, from 1. */
  action: number;
  /** Calls started. */
  calls: number;
  /** Calls that threw an error (`SkipBatch` and `StopPipeline` are not failures). */
  failures: number;
  /** Calls that threw `SkipBatch`. */
  skipped: number;
  /** Calls running now. */
  inFlight: number;
  /** Sum of the durations of finished calls, in milliseconds (lock waits not included). */
  busyMs: number;
  /** Call latency quantiles in milliseconds; `undefined` until a call finished. */
  latencyMs: { p50: number; p90: number; p99: number } | undefined;
  /** The lock the action takes (`useLock`: its name, or the action's for `true`), if any. */
  lock: string | undefined;
  /** Calls that found the lock held and waited for it. */
  lockWaits: number;
  /**
   * Time calls waited for the lock, in milliseconds: the sum and the 99th
   * percentile over every call (an uncontended call waits 0); `undefined`
   * for an action without a lock.
   */
  lockWaitMs: { total: number; p99: number } | undefined;
}

/**
 * Statistics of a batch pipeline run, what `onStats` receives.
 *
 * @example The report at the end of a run
 * ```ts
 * import { action, Batch, type BatchRunStats, Dataset } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {
 *   @action load() {}
 *   @action check() {}
 * }
 * const reports: BatchRunStats[] = [];
 * await new Dataset(8, Rows).p.load().check().run(2, { prefetch: 1, onStats: (s) => reports.push(s) });
 * const last = reports.at(-1)!;
 * assert.equal(last.done, true);
 * assert.deepEqual([last.created, last.delivered, last.inFlight], [4, 4, 0]);
 * assert.deepEqual(last.actions.map((a) => [a.name, a.calls]), [["load", 4], ["check", 4]]);
 * ```
 */
export interface BatchRunStats {
  /** Milliseconds since the run started (the consumer's first read). */
  elapsedMs: number;
  /** Whether the run has ended (every batch delivered, an error, a stop or a cancel). */
  done: boolean;
  /** Batches made. */
  created: number;
  /** Batches given to the consumer. */
  delivered: number;
  /** Batches dropped by `SkipBatch`. */
  skipped: number;
  /** Batches whose actions are running now. */
  inFlight: number;
  /** Time the consumer waited for the next batch, in milliseconds. */
  consumerWaitMs: number;
  /** One entry per action of the chain, in chain order. */
  actions: BatchActionStats[];
}

function grouped(n: number, digits: number): string {
  const [whole, fraction] = n.toFixed(digits).split(".");
  const withCommas = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? withCommas : `${withCommas}.${fraction}`;
}

function decimal(n: number): string {
  return grouped(n, n < 10 ? 2 : n < 100 ? 1 : 0);
}

/**
 * Renders a batch run's statistics as a plain-text table for a terminal: a
 * header line with the elapsed time, the batches made and delivered, the
 * rate out and the consumer's waiting time, then one row per action: calls,
 * failures, calls running, busy time in seconds, latency p50/p90/p99 in
 * milliseconds ("-" before any call finished), and for a locked action the
 * lock, how many calls waited, the total wait in seconds and its p99 in
 * milliseconds ("-" without a lock).
 *
 * @param stats What `onStats` received.
 * @returns The table, lines joined by `\n`, with no trailing newline.
 *
 * @example A run's table
 * ```ts
 * import { action, Batch, type BatchRunStats, Dataset, renderBatchStats } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {
 *   @action load() {}
 *   @action({ useLock: "disk" }) save() {}
 * }
 * let stats: BatchRunStats | undefined;
 * await new Dataset(8, Rows).p.load().save().run(2, { onStats: (s) => stats = s });
 * const table = renderBatchStats(stats!);
 * assert.match(table, /^batch run done: .* 4 batches made, 4 delivered/);
 * assert.match(table, /^2 save +4 +0 .* disk /m);
 * ```
 */
export function renderBatchStats(stats: BatchRunStats): string {
  const header = ["#", "action", "calls", "failed", "active", "busy s", "p50", "p90", "p99"];
  header.push("lock", "waits", "wait s", "wait p99");
  const rows = stats.actions.map((a) => {
    const l = a.latencyMs;
    const w = a.lockWaitMs;
    return [
      String(a.action),
      a.name,
      grouped(a.calls, 0),
      grouped(a.failures, 0),
      grouped(a.inFlight, 0),
      decimal(a.busyMs / 1000),
      ...(l === undefined ? ["-", "-", "-"] : [l.p50, l.p90, l.p99].map(decimal)),
      a.lock ?? "-",
      w === undefined ? "-" : grouped(a.lockWaits, 0),
      w === undefined ? "-" : decimal(w.total / 1000),
      w === undefined ? "-" : decimal(w.p99),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  // Text columns (action, lock) left-aligned, numbers right-aligned.
  const text = (c: number) => c === 1 || c === 9;
  const pad = (cell: string, c: number) =>
    text(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!);
  const line = (cells: string[]) => cells.map(pad).join(" ").trimEnd();
  const seconds = stats.elapsedMs / 1000;
  const rate = seconds > 0 ? decimal(stats.delivered / seconds) : "-";
  return [
    `batch run ${stats.done ? "done" : "running"}: ${decimal(seconds)} s elapsed, ` +
    `${grouped(stats.created, 0)} batches made, ${grouped(stats.delivered, 0)} delivered ` +
    `(${rate}/s), consumer waited ${decimal(stats.consumerWaitMs / 1000)} s, latency in ms`,
    line(header),
    ...rows.map(line),
  ].join("\n");
}
