// The options bags of the stream stages, each described once (see
// ../_internal/options.ts), and what every stage takes from its bag: its
// name, its signal, and the hooks of the layer above. Not exported from
// mod.ts: the layers above build their bags on these.

import type { StageHooks } from "../_internal/hooks.ts";
import { hooksOf } from "../_internal/hooks.ts";
import {
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
export const STAGE_OPTIONS: Schema<StageOptions> = { name: NAME, signal: SIGNAL };

/** `MapOptions` of `map`, `filter`, `flatMap`. */
export const MAP_OPTIONS: Schema<MapOptions> = {
  concurrency: { ...CONCURRENCY, default: "1" },
  ordered: ORDERED,
  name: NAME,
  onError: ON_ERROR,
  maxFailures: { ...MAX_FAILURES, default: "Infinity" },
  signal: SIGNAL,
};

/** `BatchOptions` of `batch`. */
export const BATCH_OPTIONS: Schema<BatchOptions> = {
  ...STAGE_OPTIONS,
  dropLast: DROP_LAST,
  maxWaitMs: durationSpec(
    "Give a partial batch downstream once its first item has waited this long.",
    ">= 0",
    "Infinity",
  ),
};

/** `WindowOptions` of `window`. */
export const WINDOW_OPTIONS: Schema<WindowOptions> = {
  ...STAGE_OPTIONS,
  step: {
    doc: "How far each window moves.",
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
