// The source, sink and options sections of a spec: checked, with paths
// resolved against the spec file's folder. Checks that touch the file system
// are queued in `later`, to run all at once.

import { dirname, resolve } from "node:path";
import { isScalar, isSeq, type Node } from "yaml";
import { keysOf } from "../_internal/options.ts";
import { PERMISSION_KINDS, type ProcessPermissions } from "../exec/process_pool.ts";
import { globBase, globToRegExp } from "./_glob.ts";
import type { Checker, Entry } from "./_yaml_check.ts";
import { SPEC_OPTIONS } from "./options.ts";
import type { SinkSpec, SourceSpec, SpecOptions } from "./spec.ts";

/** What the section parsers share. */
export interface Context {
  readonly c: Checker;
  /** The spec file's folder. */
  readonly dir: string;
  /** Checks of the file system, awaited together. */
  readonly later: Promise<void>[];
  /** The nodes of the paths of the source, the sink and the trace, to report at. */
  readonly nodes: Map<"source" | "sink" | "trace", Node | null>;
}

/** The source kinds, in the order the docs give them. */
export const SOURCE_KINDS = ["range", "lines", "jsonl", "glob", "stdin"] as const;
/** The sink kinds. */
export const SINK_KINDS = ["jsonl", "text", "stdout", "url"] as const;
// The `options` keys whose values are scalars, checked as their descriptions say.
const SCALAR_OPTIONS = [
  "numThreads",
  "maxFailures",
  "reportStatsInterval",
  "bufferSize",
  "progress",
] as const;
const GLOB = "a path with * ? ** [abc] [!abc] {a,b}, relative to the spec file";
// Permissions whose list entries are paths, resolved against the spec's folder.
const PATH_KINDS = ["read", "write", "ffi"];

/** The path a spec names, resolved against its folder. */
export function pathOf(x: Context, node: Node | null, path: string): string | undefined {
  const written = x.c.string(node, path, "a path relative to the spec file");
  return written === undefined ? undefined : resolve(x.dir, written);
}

// Queues a check that `path` is a file or a folder.
function exists(x: Context, node: Node | null, path: string, what: string, is: "file" | "folder") {
  x.later.push(
    Deno.stat(path).then(
      (info) => {
        if (is === "folder" ? !info.isDirectory : !info.isFile) {
          x.c.error(node, `${what} ${path} is not a ${is}`);
        }
      },
      () => void x.c.error(node, `${what} ${path} does not exist`),
    ),
  );
}

// A source or sink section: the one kind it names, read by `read` with its
// entry, its value and its path in messages.
function section<K extends string, T>(
  x: Context,
  entry: Entry,
  name: "source" | "sink",
  kinds: readonly K[],
  read: (kind: K, node: Node | null, at: string, given: Entry) => T | undefined,
): T | undefined {
  const m = x.c.map(entry.value, name, kinds, entry.key);
  const kind = m && x.c.oneOf(m, name, kinds, entry.value ?? entry.key);
  if (m === undefined || kind === undefined) return undefined;
  const given = m.get(kind)!;
  return read(kind, given.value, `${name}.${kind}`, given);
}

// A file the run reads (`source`) or writes: its path, queued for a check
// that it (or the folder it goes in) exists, noted for the overwrite check.
function fileOf(
  x: Context,
  node: Node | null,
  at: string,
  role: "source" | "sink" | "trace",
): string | undefined {
  const path = pathOf(x, node, at);
  if (path === undefined) return undefined;
  if (role === "source") exists(x, node, path, `${at}: file`, "file");
  else exists(x, node, dirname(path), `${at}: folder`, "folder");
  x.nodes.set(role, node);
  return path;
}

/** The `source` section. */
export function parseSource(x: Context, entry: Entry): SourceSpec | undefined {
  return section(x, entry, "source", SOURCE_KINDS, (kind, node, at, given) => {
    switch (kind) {
      case "range":
        return parseRange(x, given);
      case "lines":
      case "jsonl": {
        const path = fileOf(x, node, at, "source");
        return path === undefined ? undefined : { kind, path };
      }
      case "glob": {
        const path = pathOf(x, node, at);
        if (path === undefined) return undefined;
        const pattern = path.replaceAll("\\", "/");
        try {
          globToRegExp(pattern);
        } catch (error) {
          const written = JSON.stringify(isScalar(node) ? node.value : path);
          const why = (error as Error).message;
          return x.c.error(node, `${at} ${written} is not a glob: ${why}`, GLOB);
        }
        exists(x, node, globBase(path), `${at}: folder`, "folder");
        x.nodes.set("source", node);
        return { kind, pattern };
      }
      case "stdin": {
        const format = x.c.choice(node, at, ["lines", "jsonl"] as const);
        return format && { kind, format };
      }
    }
  });
}

function parseRange(x: Context, entry: Entry): SourceSpec | undefined {
  const { c } = x;
  if (isScalar(entry.value) && typeof entry.value.value === "number") {
    const end = c.number(entry.value, "source.range");
    return end === undefined ? undefined : { kind: "range", start: 0, end, step: 1 };
  }
  const m = c.map(entry.value, "source.range", ["start", "end", "step"], entry.key);
  if (m === undefined) return undefined;
  const num = (key: string, fallback: number) =>
    m.has(key) ? c.number(m.get(key)!.value, `source.range.${key}`) : fallback;
  const start = num("start", 0);
  const step = num("step", 1);
  if (!m.has("end")) c.error(entry.value, "source.range has no end", "end: a number");
  const end = m.has("end") ? num("end", 0) : undefined;
  if (step === 0) c.error(m.get("step")!.value, "source.range.step is 0", "a non-zero number");
  if (start === undefined || end === undefined || step === undefined || step === 0) return;
  return { kind: "range", start, end, step };
}

/** The `sink` section. */
export function parseSink(x: Context, entry: Entry): SinkSpec | undefined {
  return section(x, entry, "sink", SINK_KINDS, (kind, node, at) => {
    switch (kind) {
      case "jsonl":
      case "text": {
        const path = fileOf(x, node, at, "sink");
        return path === undefined ? undefined : { kind, path };
      }
      case "stdout": {
        const format = x.c.choice(node, at, ["jsonl", "text"] as const);
        return format && { kind, format };
      }
      case "url": {
        const url = x.c.string(node, at, "an http: or https: URL");
        if (url === undefined) return undefined;
        const parsed = URL.parse(url);
        if (parsed === null || !["http:", "https:"].includes(parsed.protocol)) {
          return x.c.error(node, `${at} is ${JSON.stringify(url)}`, "an http: or https: URL");
        }
        return { kind, url: parsed.href };
      }
    }
  });
}

/**
 * The `options` section (all optional): the builder's build options and the
 * spec's own, each checked as its description says.
 */
export function parseOptions(x: Context, entry: Entry | undefined): SpecOptions {
  const { c } = x;
  const m = entry === undefined
    ? new Map<string, Entry>()
    : c.map(entry.value, "options", keysOf(SPEC_OPTIONS), entry.key, SPEC_OPTIONS);
  const options: { -readonly [K in keyof SpecOptions]: SpecOptions[K] } = {
    maxFailures: 0,
    bufferSize: 3,
  };
  for (const key of SCALAR_OPTIONS) {
    const given = m?.get(key);
    if (given === undefined) continue;
    const value = c.option<never>(given.value, `options.${key}`, SPEC_OPTIONS[key]);
    if (value !== undefined) options[key] = value;
  }
  const permissions = m?.get("processPermissions");
  if (permissions !== undefined) {
    const granted = parsePermissions(x, permissions);
    if (granted !== undefined) options.processPermissions = granted;
  }
  const trace = m?.get("trace");
  if (trace !== undefined) {
    const path = fileOf(x, trace.value, "options.trace", "trace");
    if (path !== undefined) options.trace = path;
  }
  return options;
}

// `options.processPermissions`: for the children of `executor: processes`
// stages, each kind `true` or a list (paths relative to the spec file for
// read, write and ffi).
function parsePermissions(x: Context, entry: Entry): ProcessPermissions | undefined {
  const { c } = x;
  const path = "options.processPermissions";
  const m = c.map(entry.value, path, PERMISSION_KINDS, entry.key);
  if (m === undefined) return undefined;
  const out: Record<string, boolean | string[]> = {};
  let ok = true;
  for (const [kind, { value }] of m) {
    const at = `${path}.${kind}`;
    if (isScalar(value) && typeof value.value === "boolean") {
      out[kind] = value.value;
      continue;
    }
    if (!isSeq(value)) {
      c.error(value, `${at} is not true, false or a list`, "a boolean or a list of strings");
      ok = false;
      continue;
    }
    const list: string[] = [];
    for (const item of value.items as (Node | null)[]) {
      const text = c.string(item, at, "a non-empty string without commas");
      if (text === undefined || text === "" || text.includes(",")) {
        if (text !== undefined) {
          c.error(item, `${at} has ${JSON.stringify(text)}`, "a non-empty string without commas");
        }
        ok = false;
        continue;
      }
      list.push(PATH_KINDS.includes(kind) ? resolve(x.dir, text) : text);
    }
    out[kind] = list;
  }
  return ok ? out as ProcessPermissions : undefined;
}
