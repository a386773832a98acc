/**
 * `parseSpec` and `validateSpec`: a YAML pipeline spec to a checked
 * `PipelineSpec`, or every mistake in it with its line and column. The YAML
 * parser loads on the first call, not with the package.
 *
 * @module
 */

import type { PipelineSpec } from "./spec.ts";
import { SpecError } from "./spec_error.ts";

/**
 * The result of `parseSpec` and `validateSpec`: the spec, or every mistake, by position.
 *
 * @example Both cases, told apart by `ok`
 * ```ts
 * import { parseSpec, type SpecResult } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const check = async (text: string): Promise<string> => {
 *   const result: SpecResult = await parseSpec(text, "spec.yaml");
 *   return result.ok ? `ok: ${result.spec.source.kind}` : result.errors[0]!.format();
 * };
 * const spec = "source: { range: 3 }\nstages: []\n";
 * assert.equal(await check(spec + "sink: { stdout: jsonl }\n"), "ok: range");
 * assert.equal(
 *   await check(spec),
 *   "spec.yaml:1:1: the spec has no sink (expected sink: one of jsonl, text, stdout, url)",
 * );
 * ```
 */
export type SpecResult =
  | { readonly ok: true; readonly spec: PipelineSpec }
  | { readonly ok: false; readonly errors: readonly SpecError[] };

/**
 * Parses and checks a YAML pipeline spec. Checking runs nothing: kernel
 * modules are read by `deno doc` to check that their exports exist (running
 * the spec with `buildFromSpec` imports and runs them: a spec is code, to
 * run only when you trust it). Every mistake is reported, each with its line
 * and column: unknown keys (with the likely name, as code suggests it for
 * the same options), wrong types, out-of-range
 * numbers, several or no kinds of source or sink, files and folders that do
 * not exist, modules without the export, bad globs, too deep nesting, too
 * many stages, a sink or trace file that the run reads. Relative paths are
 * resolved against the spec file's folder. See the module's documentation
 * for the format.
 *
 * @param text The YAML text.
 * @param file The spec file's path or `file:` URL (for positions and relative paths).
 * @returns `{ ok: true, spec }` or `{ ok: false, errors }`.
 *
 * @example Three mistakes at once
 * ```ts
 * import { parseSpec } from "./parse_spec.ts";
 * import assert from "node:assert/strict";
 *
 * const text = [
 *   "source:",
 *   "  range: { start: 0, end: 10 }",
 *   "stages:",
 *   "  - aggregate: 0",
 *   "sink:",
 *   "  stdout: jsonl",
 *   "options:",
 *   "  bufferSise: 4",
 *   "  progress: maybe",
 * ].join("\n");
 * const result = await parseSpec(text, "spec.yaml");
 * assert(!result.ok);
 * assert.deepEqual(result.errors.map((e) => e.format()), [
 *   "spec.yaml:4:16: stages[0].aggregate is 0 (expected a positive integer)",
 *   'spec.yaml:8:3: options: unknown option "bufferSise" (did you mean bufferSize?); the ' +
 *   "options are numThreads, maxFailures, reportStatsInterval, processPermissions, bufferSize, " +
 *   "progress, trace",
 *   'spec.yaml:9:13: options.progress is "maybe" (expected a boolean)',
 * ]);
 * ```
 */
export async function parseSpec(text: string, file: string | URL): Promise<SpecResult> {
  const { parseSpec } = await import("./_parse_spec.ts");
  return await parseSpec(text, file);
}

/**
 * Reads a spec file and checks it, as `parseSpec` does.
 *
 * @param file The spec file's path or `file:` URL.
 * @returns `{ ok: true, spec }` or `{ ok: false, errors }` (one, at 1:1, when the file cannot be read).
 *
 * @example A file that is not there
 * ```ts
 * import { validateSpec } from "./parse_spec.ts";
 * import assert from "node:assert/strict";
 *
 * const result = await validateSpec("no-such-spec.yaml");
 * assert(!result.ok);
 * assert.match(result.errors[0]!.format(), /^no-such-spec\.yaml:1:1: cannot read the spec/);
 * ```
 */
export async function validateSpec(file: string | URL): Promise<SpecResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    const shown = typeof file === "string" ? file : file.href;
    const message = `cannot read the spec: ${(error as Error).message}`;
    return { ok: false, errors: [new SpecError(shown, 1, 1, message)] };
  }
  return await parseSpec(text, file);
}
