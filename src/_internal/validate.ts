// Option checks shared by every stage. Messages name the stage, the option
// and the value: "Cannot create map stage: concurrency must be a positive
// integer, got 0".

/** Formats a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return "an array";
  return "an object";
}

function fail(
  what: string,
  option: string,
  expected: string,
  value: unknown,
): never {
  const message = `Cannot create ${what}: ${option} must be ${expected}, got ${show(value)}`;
  throw typeof value === "number" ? new RangeError(message) : new TypeError(message);
}

/** A positive integer, or `Infinity` when `allowInfinity` is set. */
export function positiveInteger(
  what: string,
  option: string,
  value: unknown,
  allowInfinity = false,
): number {
  if (
    typeof value !== "number" || !(value >= 1) ||
    !(Number.isInteger(value) || (allowInfinity && value === Infinity))
  ) {
    fail(
      what,
      option,
      allowInfinity ? "a positive integer or Infinity" : "a positive integer",
      value,
    );
  }
  return value;
}

/** A non-negative integer. */
export function nonNegativeInteger(
  what: string,
  option: string,
  value: unknown,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    fail(what, option, "a non-negative integer", value);
  }
  return value;
}

/** A non-negative integer or `Infinity`. */
export function count(what: string, option: string, value: unknown): number {
  if (
    typeof value !== "number" || !(value >= 0) ||
    !(Number.isInteger(value) || value === Infinity)
  ) {
    fail(what, option, "a non-negative integer or Infinity", value);
  }
  return value;
}

/**
 * The longest delay a timer can hold (2^31 - 1 ms, about 24.8 days): a
 * longer one fires after 1 ms, so durations above it are refused.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * What a duration option accepts, in the words of its error messages: `>= 0`
 * for a delay (0 is "at once"), `> 0` for an interval between reports.
 */
export function durationExpected(least: ">= 0" | "> 0"): string {
  const low = least === ">= 0" ? "a non-negative" : "a positive";
  return `${low} number of milliseconds up to ${MAX_TIMER_MS}, or Infinity`;
}

/** Whether `value` is a duration a timer can hold, or Infinity ("never"). */
export function isDuration(value: unknown, least: ">= 0" | "> 0"): value is number {
  return typeof value === "number" && (least === ">= 0" ? value >= 0 : value > 0) &&
    (value <= MAX_TIMER_MS || value === Infinity);
}

/**
 * A number of milliseconds a timer can hold, or `Infinity` for "never".
 * Every duration option of the library is checked here, so none collapses
 * to 1 ms the way `setTimeout` treats values above {@link MAX_TIMER_MS}.
 */
export function duration(
  what: string,
  option: string,
  value: unknown,
  least: ">= 0" | "> 0" = ">= 0",
): number {
  if (!isDuration(value, least)) fail(what, option, durationExpected(least), value);
  return value;
}

/** A function. */
export function callable<F>(what: string, option: string, value: F): F {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot create ${what}: ${option} must be a function, got ${show(value)}`,
    );
  }
  return value;
}

/** A boolean. */
export function boolean(what: string, option: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot create ${what}: ${option} must be a boolean, got ${show(value)}`,
    );
  }
  return value;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(
  what: string,
  option: string,
  value: unknown,
  choices: readonly T[],
): T {
  if (
    typeof value !== "string" || !(choices as readonly string[]).includes(value)
  ) {
    const list = choices.map((c) => JSON.stringify(c)).join(" or ");
    throw new TypeError(
      `Cannot create ${what}: ${option} must be ${list}, got ${show(value)}`,
    );
  }
  return value as T;
}

/** An options bag: `undefined` or a plain object. */
export function optionsBag<T extends object>(
  what: string,
  value: T | undefined,
): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `Cannot create ${what}: options must be an object, got ${show(value)}`,
    );
  }
  return value;
}

/** An `AbortSignal`, or `undefined`. */
export function abortSignal(
  what: string,
  value: unknown,
): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot create ${what}: signal must be an AbortSignal, got ${show(value)}`,
    );
  }
  return value;
}

/** Checks a stage's `name` option; `fallback` when unset. */
export function stageName(what: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot create ${what}: name must be a non-empty string, got ${show(value)}`,
    );
  }
  return value;
}
