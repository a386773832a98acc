// The YAML side of parseSpec (src/config/parse_spec.ts), loaded on first
// use so that importing the package does not load the yaml parser.

import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { AUTO, keysOf, type OptionSpec } from "../_internal/options.ts";
import { AGGREGATE_OPTIONS, EXECUTORS, OUTPUT_ORDERS } from "../pipeline/options.ts";
import { checkExports, type ExportUse } from "./_exports.ts";
import { parseNatsExecutor } from "./_nats_executor.ts";
import {
  type Context,
  parseOptions,
  parseSink,
  parseSource,
  SINK_KINDS,
  SOURCE_KINDS,
} from "./_spec_parts.ts";
import { Checker, describe, type Entry, tooDeep, withArticle } from "./_yaml_check.ts";
import { MAP_STAGE_OPTIONS } from "./options.ts";
import type { SpecResult } from "./parse_spec.ts";
import { overwriteError, writtenFiles } from "./same_file.ts";
import type { MapStageSpec, PipelineSpec, StageSpec } from "./spec.ts";
import { SpecError } from "./spec_error.ts";

// A stage's keys: its kind, then the builder's options for that kind.
const STAGE_KEYS = {
  map: ["map", ...keysOf(MAP_STAGE_OPTIONS)],
  aggregate: ["aggregate", ...keysOf(AGGREGATE_OPTIONS)],
  disaggregate: ["disaggregate"],
} as const;
const STAGE_KINDS = ["map", "aggregate", "disaggregate"] as const;
const ALL_STAGE_KEYS = Object.values(STAGE_KEYS).flat();
const STAGE_SPECS: Readonly<Record<string, OptionSpec>> = {
  ...MAP_STAGE_OPTIONS,
  ...AGGREGATE_OPTIONS,
};
const EXPORT_NAME = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;
/**
 * Lists and mappings nest at most this deep (a spec needs 4); the YAML
 * document is composed recursively, and 5,000 levels overflow the stack.
 */
export const MAX_DEPTH = 64;
/**
 * A spec has at most this many stages. A chain of streams ends (and fails)
 * by recursion, one level per stage: on Deno 2.9's default stack, a chain of
 * 1,300 to 1,400 aggregate stages overflows it when the source ends.
 */
export const MAX_STAGES = 1000;
const TOP_KEYS = ["source", "stages", "sink", "options"];

/** `parseSpec`'s work (see parse_spec.ts). */
export async function parseSpec(text: string, file: string | URL): Promise<SpecResult> {
  const shown = typeof file === "string" ? file : file.href;
  if (typeof file !== "string" && file.protocol !== "file:") {
    return { ok: false, errors: [new SpecError(shown, 1, 1, "a spec must be a local file")] };
  }
  const lines = new LineCounter();
  const deep = tooDeep(text, MAX_DEPTH);
  if (deep !== undefined) {
    const before = text.slice(0, deep);
    const [line, col] = [before.split("\n").length, deep - before.lastIndexOf("\n")];
    const message = `lists and mappings nest more than ${MAX_DEPTH} deep`;
    const expected = `at most ${MAX_DEPTH} levels`;
    return { ok: false, errors: [new SpecError(shown, line, col, message, expected)] };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const c = new Checker(shown, lines, doc);
  for (const problem of [...doc.errors, ...doc.warnings]) {
    const message = problem.code === "DUPLICATE_KEY" ? "duplicate key" : problem.message;
    c.error(problem.pos[0], message.split("\n")[0]!);
  }
  // Past a syntax error the document's shape means little.
  if (doc.errors.some((e) => e.code !== "DUPLICATE_KEY")) return { ok: false, errors: c.errors };
  const path = typeof file === "string" ? resolve(file) : fileURLToPath(file);
  const x: Context = { c, dir: dirname(path), later: [], nodes: new Map() };
  const uses: ExportUse[] = [];
  const contents = c.resolve(doc.contents as Node | null);
  const top = contents === null
    ? c.error(0, "the spec is empty", "a mapping with source, stages and sink")
    : !isMap(contents)
    ? c.error(
      contents,
      `the spec is ${describe(contents)}`,
      `a mapping with keys ${TOP_KEYS.join(", ")}`,
    )
    : c.map(contents, "", TOP_KEYS, 0);
  const required = (key: string, expected: string): Entry | undefined =>
    top?.get(key) ?? (top && c.error(doc.contents as Node, `the spec has no ${key}`, expected));
  const source = required("source", `source: one of ${SOURCE_KINDS.join(", ")}`);
  const stagesEntry = required("stages", "stages: a list of map, aggregate, disaggregate");
  const sinkEntry = required("sink", `sink: one of ${SINK_KINDS.join(", ")}`);
  const spec = {
    file: shown,
    source: source && parseSource(x, source),
    stages: stagesEntry && parseStages(x, stagesEntry, uses),
    sink: sinkEntry && parseSink(x, sinkEntry),
    options: parseOptions(x, top?.get("options")),
  };
  await Promise.all([...x.later, checkExports(uses, c)]);
  if (c.errors.length === 0) await checkOverwrites(x, spec as PipelineSpec);
  if (c.errors.length > 0) {
    const errors = c.errors.toSorted((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, errors };
  }
  return { ok: true, spec: spec as PipelineSpec };
}

// A sink or trace file must not be what the source reads (nor the trace the sink).
async function checkOverwrites(x: Context, spec: PipelineSpec): Promise<void> {
  await Promise.all(
    writtenFiles(spec).map(async ({ key, at, path }) => {
      const why = await overwriteError(spec, at, path);
      const expected = key === "sink"
        ? "a file the source does not read"
        : "a file the run does not read or write";
      if (why !== undefined) x.c.error(x.nodes.get(key) ?? null, why, expected);
    }),
  );
}

function parseStages(x: Context, entry: Entry, uses: ExportUse[]): StageSpec[] | undefined {
  const list = entry.value;
  if (!isSeq(list)) {
    const what = list === null || (isScalar(list) && list.value === null)
      ? "nothing"
      : "not a list";
    return x.c.error(list ?? entry.key, `stages is ${what}`, "a list of stages");
  }
  if (list.items.length > MAX_STAGES) {
    return x.c.error(
      (list.items[MAX_STAGES] as Node | null) ?? list,
      `stages has ${list.items.length} stages, more than the limit of ${MAX_STAGES}`,
      `at most ${MAX_STAGES} stages (a longer chain of streams overflows the call stack)`,
    );
  }
  const stages: (StageSpec | undefined)[] = list.items.map((item, i) =>
    parseStage(x, x.c.resolve(item as Node | null), `stages[${i}]`, uses)
  );
  // A repeated name gets the stage's number: statistics and traces tell stages by name.
  const names = new Set<string>();
  return stages.map((stage, i) => {
    if (stage?.kind !== "map") return stage;
    const name = names.has(stage.name) ? `${stage.name} ${i + 1}` : stage.name;
    names.add(name);
    return { ...stage, name };
  }) as StageSpec[];
}

function parseStage(
  x: Context,
  node: Node | null,
  at: string,
  uses: ExportUse[],
): StageSpec | undefined {
  const { c } = x;
  if (isScalar(node) && node.value === "disaggregate") return { kind: "disaggregate" } as const;
  const m = c.entries(node, at, `a mapping with one of ${STAGE_KINDS.join(", ")}`);
  const kind = m && c.oneOf(m, at, STAGE_KINDS, node);
  // The keys of the stage's kind; of every kind when it has none or several.
  const keys: readonly string[] = kind === undefined ? ALL_STAGE_KEYS : STAGE_KEYS[kind];
  for (const [key, { key: keyNode }] of m ?? []) {
    if (keys.includes(key)) continue;
    if (ALL_STAGE_KEYS.includes(key)) {
      c.error(keyNode, `${key} does not apply to ${withArticle(kind!)} stage`, keys.join(", "));
    } else {
      c.unknownKey(keyNode, at, key, keys, STAGE_SPECS);
    }
  }
  if (m === undefined || kind === undefined) return undefined;
  const value = (key: string) => m.get(key)?.value ?? null;
  if (kind === "disaggregate") {
    const ok = c.scalar(value(kind), `${at}.disaggregate`, "true", (v): v is true => v === true);
    return ok && { kind } as const;
  }
  // Each key given is checked as the builder checks it; `undefined` when absent.
  let ok = true;
  const option = <T>(key: string, words?: readonly string[]): T | undefined => {
    if (!m.has(key)) return undefined;
    const v = c.option<T>(value(key), `${at}.${key}`, STAGE_SPECS[key]!, words);
    if (v === undefined) ok = false;
    return v;
  };
  if (kind === "aggregate") {
    const size = c.positiveInteger(value(kind), `${at}.aggregate`);
    const dropLast = option<boolean>("dropLast") ?? false;
    return size !== undefined && ok ? { kind, size, dropLast } : undefined;
  }
  const ref = mapRef(x, value("map"), `${at}.map`, uses);
  // A word, or a mapping that names a NATS pool.
  const executor = isMap(value("executor"))
    ? parseNatsExecutor(c, value("executor"), `${at}.executor`) ?? void (ok = false)
    : option<MapStageSpec["executor"]>("executor", EXECUTORS);
  const concurrency = option<number | "auto">("concurrency", [AUTO]);
  const outputOrder = option<MapStageSpec["outputOrder"]>("outputOrder", OUTPUT_ORDERS);
  const name = option<string>("name");
  const maxFailures = option<number>("maxFailures");
  const transfer = option<boolean>("transfer");
  if (ref === undefined || !ok) return undefined;
  return {
    kind,
    ...ref,
    executor: executor ?? "workers",
    ...(concurrency === undefined ? {} : { concurrency }),
    outputOrder: outputOrder ?? "completion",
    name: name ?? ref.exportName,
    ...(maxFailures === undefined ? {} : { maxFailures }),
    transfer: transfer ?? false,
  };
}

// `./module.ts#export`: the module's URL, queued for the export check.
function mapRef(
  x: Context,
  node: Node | null,
  at: string,
  uses: ExportUse[],
): { module: string; exportName: string } | undefined {
  const written = x.c.string(node, at, "a module path, then #, then an export name");
  if (written === undefined) return undefined;
  const hash = written.lastIndexOf("#");
  const path = hash === -1 ? written : written.slice(0, hash);
  const exportName = hash === -1 ? "default" : written.slice(hash + 1);
  const expected = "./module.ts#exportName, the path relative to the spec file";
  if (path === "" || (/^[a-z][a-z0-9+.-]+:/i.test(path) && !path.startsWith("file:"))) {
    return x.c.error(node, `${at} is ${JSON.stringify(written)}, not a local module`, expected);
  }
  if (!EXPORT_NAME.test(exportName)) {
    return x.c.error(node, `${at} has a bad export name ${JSON.stringify(exportName)}`, expected);
  }
  const file = path.startsWith("file:") ? fileURLToPath(path) : resolve(x.dir, path);
  const module = pathToFileURL(file).href;
  uses.push({ module, written: path, exportName, node: node! });
  return { module, exportName };
}
