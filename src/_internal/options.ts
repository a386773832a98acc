// One description per options bag: for every key, what it does, what it
// takes and its default. The runtime check of a bag (unknown keys with a
// "did you mean", values with a message that names the option and the value)
// and the YAML checker's messages come from it; `Schema<T>` maps over the
// keys of the bag's TypeScript interface, so a key cannot be documented in
// one and missing from the other.
//
// The concepts that several bags share (concurrency, name, maxFailures,
// signal, ...) are described once below and reused by every bag that has
// them: one name, one check, one message.

import { closest } from "./closest.ts";
import { isDuration, MAX_TIMER_MS, show } from "./validate.ts";

/** One key of an options bag. */
export interface OptionSpec {
  /** What the option does, in one sentence (the interface's docs say the same). */
  readonly doc: string;
  /** The values it takes, as messages word them: "a positive integer or Infinity". */
  readonly expected: string;
  /** Whether a value (not `undefined`) is one of them. */
  readonly test: (value: unknown) => boolean;
  /** The default, in words (absent: none, or computed as `doc` says). */
  readonly default?: string;
  /** It takes a number: a number that fails is out of range (a `RangeError`). */
  readonly numeric?: boolean;
  /**
   * Other names a user may write for it (a seed's word, an old key): an
   * unknown key that is one of them suggests this option.
   */
  readonly aliases?: readonly string[];
}

/** The description of an options bag whose TypeScript type is `T`. */
export type Schema<T> = { readonly [K in keyof T]-?: OptionSpec };

/** The keys of a bag, in the order described. */
export function keysOf<T>(schema: Schema<T>): string[] {
  return Object.keys(schema);
}

/**
 * The message for a key not in `keys`, with the valid key it most likely
 * means: the option that lists it among its `aliases`, or the closest name.
 */
export function unknownKey(
  what: string,
  key: string,
  keys: readonly string[],
  specs?: Readonly<Record<string, OptionSpec>>,
): string {
  const alias = specs === undefined
    ? undefined
    : keys.find((k) => specs[k]?.aliases?.includes(key) === true);
  const guess = alias ?? closest(key, keys);
  const hint = guess === undefined ? "" : ` (did you mean ${guess}?)`;
  return `${what}: unknown option ${JSON.stringify(key)}${hint}; the options are ${
    keys.join(", ")
  }`;
}

/** Throws a `TypeError` for the first key of `bag` that is not in `keys`. */
export function knownKeys(what: string, bag: object, keys: readonly string[]): void {
  for (const key of Object.keys(bag)) {
    if (!keys.includes(key)) throw new TypeError(unknownKey(what, key, keys));
  }
}

/** The message for a value `spec` refuses. */
export function badValue(what: string, key: string, spec: OptionSpec, value: unknown): string {
  return `${what}: ${key} must be ${spec.expected}, got ${show(value)}`;
}

/** A mistake in an options bag: its message, and whether it is a number out of range. */
export interface Problem {
  readonly message: string;
  readonly range: boolean;
}

/**
 * Every mistake in an options bag, checked against its description: not
 * `undefined` or a plain object, unknown keys, values that fail their test.
 * `what` starts each message and names the function ("Cannot create map
 * stage", "WorkerPool.run").
 */
export function optionProblems<T extends object>(
  what: string,
  schema: Schema<T>,
  options: unknown,
): Problem[] {
  if (options === undefined) return [];
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    return [{ message: `${what}: options must be an object, got ${show(options)}`, range: false }];
  }
  const specs = schema as Record<string, OptionSpec>;
  const keys = Object.keys(specs);
  const problems: Problem[] = [];
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) {
      problems.push({ message: unknownKey(what, key, keys, specs), range: false });
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined || spec.test(value)) continue;
    problems.push({
      message: badValue(what, key, spec, value),
      range: spec.numeric === true && typeof value === "number",
    });
  }
  return problems;
}

/**
 * Checks an options bag (see `optionProblems`) and throws its first mistake:
 * a number out of range as a `RangeError`, anything else as a `TypeError`.
 */
export function checkOptions<T extends object>(
  what: string,
  schema: Schema<T>,
  options: unknown,
): Partial<T> {
  const [first] = optionProblems(what, schema, options);
  if (first !== undefined) {
    throw first.range ? new RangeError(first.message) : new TypeError(first.message);
  }
  return (options ?? {}) as Partial<T>;
}

// ---- Value tests, named by what they accept.

/** A positive integer (or `Infinity` with `infinite`). */
export function isPositiveInteger(infinite = false): (v: unknown) => boolean {
  return (v) =>
    typeof v === "number" && v >= 1 && (Number.isInteger(v) || (infinite && v === Infinity));
}

/** A non-negative integer or `Infinity`. */
export function isCount(v: unknown): boolean {
  return typeof v === "number" && v >= 0 && (Number.isInteger(v) || v === Infinity);
}

/** A non-empty string. */
export function isName(v: unknown): boolean {
  return typeof v === "string" && v !== "";
}

/** `true` or `false`. */
export function isBoolean(v: unknown): boolean {
  return typeof v === "boolean";
}

/** A function. */
export function isFunction(v: unknown): boolean {
  return typeof v === "function";
}

/** One of `words`. */
export function isOneOf(words: readonly string[]): (v: unknown) => boolean {
  return (v) => typeof v === "string" && words.includes(v);
}

/** `words` as a message lists them: `"a" or "b"`. */
export function wordsOf(words: readonly string[]): string {
  return words.map((w) => JSON.stringify(w)).join(" or ");
}

// ---- The shared vocabulary: each concept described once.

const isLimit = isPositiveInteger(true);

/** The word for a concurrency the stage tunes itself (see src/stream/_autotune.ts). */
export const AUTO = "auto";

/**
 * The most tasks a stage with `concurrency: "auto"` runs at once, and so the
 * most items it holds: its output and reorder buffers are sized by it.
 */
export const AUTO_LIMIT = 256;

/**
 * `concurrency` of a stage whose default is one task at a time: a number, or
 * `"auto"` for a limit the stage tunes while it runs.
 */
export const CONCURRENCY: OptionSpec = {
  doc: "How many tasks of the stage run at once.",
  expected: `a positive integer, Infinity or "${AUTO}"`,
  test: (v) => v === AUTO || isLimit(v),
  default: "1 for a function; for a kernel on a pool, enough to keep every worker busy",
  numeric: true,
};

/** `name` of a stage. */
export const NAME: OptionSpec = {
  doc: "The stage's name, used in errors, statistics and traces.",
  expected: "a non-empty string",
  test: isName,
};

/** `maxFailures`: failures tolerated; the next one fails. */
export const MAX_FAILURES: OptionSpec = {
  doc: "How many failed items are dropped before the next failure ends the run.",
  expected: "a non-negative integer or Infinity",
  test: isCount,
  numeric: true,
};

/** `signal`: aborting it stops the work. */
export const SIGNAL: OptionSpec = {
  doc: "Aborting it stops the work; what is running sees the reason.",
  expected: "an AbortSignal",
  test: (v) => v instanceof AbortSignal,
};

/** `ordered` of the stream stages. */
export const ORDERED: OptionSpec = {
  doc: "`true`: results leave in input order. `false`: in completion order.",
  expected: "a boolean",
  test: isBoolean,
  default: "true",
};

/** `onError` of the stream stages. */
export const ON_ERROR: OptionSpec = {
  doc: 'What a failing task does: `"fail"` errors the stream with a `StageError`; `"skip"` ' +
    "drops the item and counts it.",
  expected: wordsOf(["fail", "skip"]),
  test: isOneOf(["fail", "skip"]),
  default: '"fail", or `"skip"` when `maxFailures` is given',
};

/** `retries` of the pools. */
export const RETRIES: OptionSpec = {
  doc: "How many times a task whose worker died is run again before it fails with " +
    "`WorkerCrashError`.",
  expected: "a non-negative integer or Infinity",
  test: isCount,
  default: "0",
  numeric: true,
};

/** `dropLast` of batching stages. */
export const DROP_LAST: OptionSpec = {
  doc: "Drop a last batch shorter than the others.",
  expected: "a boolean",
  test: isBoolean,
  default: "false",
};

/** A duration in milliseconds a timer can hold, or Infinity. */
export function durationSpec(doc: string, least: ">= 0" | "> 0", fallback?: string): OptionSpec {
  const low = least === ">= 0" ? "a non-negative" : "a positive";
  return {
    doc,
    expected: `${low} number of milliseconds up to ${MAX_TIMER_MS}, or Infinity`,
    test: (v) => isDuration(v, least),
    numeric: true,
    ...(fallback === undefined ? {} : { default: fallback }),
  };
}
