// The options bags of the stream stages, each described once (see
// ../_internal/options.ts), and what every stage takes from its bag: its
// name, its signal, and the hooks of the layer above. Not exported from
// mod.ts: the layers above build their bags on these.

import type { StageHooks } from "../_internal/hooks.ts";
import { hooksOf } from "../_internal/hooks.ts";
import {
  AUTO_LIMIT,
  checkOptions,
  CONCURRENCY,
  DROP_LAST,
  durationSpec,
  isPositiveInteger,
  MAX_FAILURES,
  NAME,
  ON_ERROR,
  ORDERED,
  type Schema,
  SIGNAL,
} from "../_internal/options.ts";
import type { BatchOptions } from "./batch.ts";
import type { MapOptions, StageOptions } from "./types.ts";
import type { WindowOptions } from "./window.ts";

/** `StageOptions`: what every stage takes. */
export const STAGE_OPTIONS: Schema<StageOptions> = {
  name: { ...NAME, doc: "A name for errors and statistics.", default: "the stage's kind" },
  signal: {
    ...SIGNAL,
    doc: "Aborting it stops the stage: its output errors with the reason, upstream is cancelled.",
  },
};

/** `MapOptions` of `map`, `filter`, `flatMap`. */
export const MAP_OPTIONS: Schema<MapOptions> = {
  concurrency: {
    ...CONCURRENCY,
    doc: "How many tasks run at once. With `ordered: true`, a result waiting for an earlier one " +
      'keeps its slot, so no more than this many items are held. `"auto"`: the stage picks ' +
      "the number while it runs, from its tasks' measured time, its output buffer and (on a " +
      `pool) the pool's room, never above ${AUTO_LIMIT}; its buffers hold at most that many ` +
      "items, and `stats().concurrency` says the number it picked.",
    default: "1",
  },
  ordered: ORDERED,
  name: {
    ...NAME,
    doc: "The stage's name, used in errors, statistics and traces.",
    default: '"map" (or "filter", "flatMap")',
  },
  onError: ON_ERROR,
  maxFailures: {
    ...MAX_FAILURES,
    doc: 'With `onError: "skip"`: how many failures are tolerated; the next one errors the stream.',
    default: "Infinity",
  },
  signal: {
    ...SIGNAL,
    doc: "Aborting it stops the stage: its readable side errors with the reason and upstream is " +
      "cancelled.",
  },
};

/** `BatchOptions` of `batch`. */
export const BATCH_OPTIONS: Schema<BatchOptions> = {
  ...STAGE_OPTIONS,
  dropLast: { ...DROP_LAST, doc: "Drop a last batch that has fewer than `size` items." },
  maxWaitMs: durationSpec(
    "Give a partial batch downstream once its first item has waited this long, so a stalled " +
      "source does not hold items back. Unset or `Infinity`: wait for a full batch or the end " +
      "of the stream. At most 2^31 - 1 ms (what a timer can hold); a larger finite value is a " +
      "`RangeError`.",
    ">= 0",
    "Infinity",
  ),
};

/** `WindowOptions` of `window`. */
export const WINDOW_OPTIONS: Schema<WindowOptions> = {
  ...STAGE_OPTIONS,
  step: {
    doc: "How far each window moves: 1 slides by one item; `step === size` cuts the stream " +
      "into disjoint windows; a larger step skips items.",
    expected: "a positive integer",
    test: isPositiveInteger(),
    default: "1",
    numeric: true,
  },
};

/** What every stage takes from its options bag. */
export interface Common {
  readonly name: string;
  readonly signal: AbortSignal | undefined;
  readonly hooks: StageHooks | undefined;
}

/** Checks a stage's bag against `schema`; the name defaults to `kind`. */
export function stageOptions<T extends StageOptions>(
  kind: string,
  schema: Schema<T>,
  options: T | undefined,
): Partial<T> & Common {
  const o = checkOptions(`Cannot create ${kind} stage`, schema, options);
  return { ...o, name: o.name ?? kind, signal: o.signal, hooks: hooksOf(options) };
}
