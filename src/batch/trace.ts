/**
 * Trace events of a batch pipeline, and the seed's way of printing them.
 *
 * @module
 */

import { checkOptions } from "../_internal/options.ts";
import { FORMAT_TRACE_OPTIONS } from "./options.ts";

/**
 * What a batch pipeline's `trace` callback sees. `batch` counts batches in
 * creation order and `action` the actions of the pipeline, both from 1.
 *
 * @example The events of the second batch
 * ```ts
 * import { action, Batch, Dataset, type TraceEvent } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * class Rows extends Batch<number> {
 *   @action load() {}
 * }
 * const events: TraceEvent[] = [];
 * await new Dataset(4, Rows).p.load().run(2, { trace: (event) => events.push(event) });
 * assert.deepEqual(events.filter((e) => e.batch === 2), [
 *   { type: "batch created", batch: 2 },
 *   { type: "action started", batch: 2, action: 1, name: "load" },
 *   { type: "action finished", batch: 2, action: 1, name: "load" },
 * ]);
 * ```
 */
export interface TraceEvent {
  /** What happened. */
  type: "batch created" | "action started" | "action finished";
  /** The batch's number. */
  batch: number;
  /** The action's number in the pipeline (action events only). */
  action?: number;
  /** The action's method name (action events only). */
  name?: string;
}

/**
 * Prints trace events the way batchflow's documentation lists them:
 * `batch #1 is created`, then `    action 1 started` (with `for batch #1`
 * added when batches overlap, as with prefetch).
 *
 * @param events The events, in the order they happened.
 * @param options `withBatch`: always (true) or never (false) name the batch
 *   of an action event; by default, only when batches overlap.
 * @returns One line per event.
 * @throws {TypeError} On an unknown option (with the closest known one) or a `withBatch` that
 * is not a boolean.
 *
 * @example Two actions, one batch
 * ```ts
 * import { formatTrace } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const lines = formatTrace([
 *   { type: "batch created", batch: 1 },
 *   { type: "action started", batch: 1, action: 1, name: "load" },
 *   { type: "action finished", batch: 1, action: 1, name: "load" },
 * ]);
 * assert.deepEqual(lines, ["batch #1 is created", "    action 1 started", "    action 1 finished"]);
 * ```
 */
export function formatTrace(
  events: readonly TraceEvent[],
  options?: { withBatch?: boolean },
): string[] {
  const o = checkOptions("formatTrace", FORMAT_TRACE_OPTIONS, options);
  const withBatch = o.withBatch ?? overlapping(events);
  return events.map((e) => {
    if (e.type === "batch created") return `batch #${e.batch} is created`;
    const what = e.type === "action started" ? "started" : "finished";
    return `    action ${e.action} ${what}${withBatch ? ` for batch #${e.batch}` : ""}`;
  });
}

// Whether an action event of a batch comes after a later batch was created.
function overlapping(events: readonly TraceEvent[]): boolean {
  let newest = 0;
  for (const e of events) {
    if (e.type === "batch created") newest = Math.max(newest, e.batch);
    else if (e.batch < newest) return true;
  }
  return false;
}
