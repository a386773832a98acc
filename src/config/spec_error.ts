/**
 * `SpecError`: one mistake in a YAML pipeline spec, with where it is.
 *
 * @module
 */

/**
 * One mistake in a pipeline spec: the file, the line and column (from 1) of
 * the offending key or value, what is wrong, and what was expected.
 * `parseSpec` returns every mistake of a spec as a `SpecError`; they are
 * values, not thrown.
 *
 * @example Formatting a mistake
 * ```ts
 * import { SpecError } from "./spec_error.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new SpecError("spec.yaml", 7, 18, "stages[0].concurrency is -2", "a positive integer or .inf");
 * assert.equal(error.format(), "spec.yaml:7:18: stages[0].concurrency is -2 (expected a positive integer or .inf)");
 * assert.equal(error.line, 7);
 * ```
 */
export class SpecError extends Error {
  /** The spec file, as given to `parseSpec`. */
  readonly file: string;
  /** The line, from 1. */
  readonly line: number;
  /** The column, from 1. */
  readonly column: number;
  /** What was expected there, if it can be said in a few words. */
  readonly expected: string | undefined;

  /**
   * Makes the error.
   *
   * @param file The spec file.
   * @param line The line, from 1.
   * @param column The column, from 1.
   * @param message What is wrong.
   * @param expected What was expected.
   */
  constructor(file: string, line: number, column: number, message: string, expected?: string) {
    super(message);
    this.name = "SpecError";
    this.file = file;
    this.line = line;
    this.column = column;
    this.expected = expected;
  }

  /**
   * The mistake as a compiler would print it.
   *
   * @returns `file:line:column: message (expected ...)`.
   */
  format(): string {
    const expected = this.expected === undefined ? "" : ` (expected ${this.expected})`;
    return `${this.file}:${this.line}:${this.column}: ${this.message}${expected}`;
  }
}
