// Whether a run would write over what it reads: a sink or trace file that is
// the source's file (the same real path, or the same device and inode: a
// link), or that a glob source matches. Not private: the command line checks
// its --trace file with it too. Not exported from mod.ts.

import { basename, dirname, join } from "node:path";
import { globBase, globToRegExp } from "./_glob.ts";
import type { PipelineSpec, SourceSpec } from "./spec.ts";

// The real path of a file that may not exist yet: its folder's real path
// and its name; the path itself when neither can be resolved.
async function realPath(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    try {
      return join(await Deno.realPath(dirname(path)), basename(path));
    } catch {
      return path;
    }
  }
}

/** Whether two paths name one file (the second may not exist yet). */
export async function sameFile(a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const [realA, realB] = await Promise.all([realPath(a), realPath(b)]);
  if (realA === realB) return true;
  const [statA, statB] = await Promise.all(
    [a, b].map((path) => Deno.stat(path).catch(() => undefined)),
  );
  return statA?.ino != null && statA.dev === statB?.dev && statA.ino === statB?.ino;
}

// Whether a glob pattern matches a path; a pattern that cannot be made into
// a regular expression matches nothing (parseSpec reports it).
function matches(pattern: string, path: string): boolean {
  try {
    return globToRegExp(pattern).test(path);
  } catch {
    return false;
  }
}

/**
 * The source that reads the file at `path`, in words for a message
 * (`source.jsonl (/data/in.jsonl)`), or `undefined` when it does not read it.
 */
export async function readBy(source: SourceSpec, path: string): Promise<string | undefined> {
  switch (source.kind) {
    case "lines":
    case "jsonl":
      return await sameFile(source.path, path)
        ? `source.${source.kind} (${source.path})`
        : undefined;
    case "glob": {
      const listed = `source.glob (it matches ${JSON.stringify(source.pattern)})`;
      if (matches(source.pattern, path)) return listed;
      // Through links: the file's real path, seen from the pattern's folder.
      const base = globBase(source.pattern);
      const [realBase, real] = await Promise.all([realPath(base), realPath(path)]);
      if (realBase !== "/" && !real.startsWith(`${realBase}/`)) return undefined;
      const rest = realBase === "/" ? real : real.slice(realBase.length); // from a "/"
      const seen = base === "/" ? rest : base + rest;
      return matches(source.pattern, seen) ? listed : undefined;
    }
    default:
      return undefined;
  }
}

/** A file a run of `spec` writes: `key` is its spec key, `at` names it in messages. */
export interface Written {
  readonly key: "sink" | "trace";
  readonly at: string;
  readonly path: string;
}

/** The files a run of `spec` writes: its file sink and its trace (`trace` overrides the spec's). */
export function writtenFiles(
  spec: Pick<PipelineSpec, "sink" | "options">,
  trace?: { at: string; path: string },
): Written[] {
  const written: Written[] = [];
  if (spec.sink.kind === "jsonl" || spec.sink.kind === "text") {
    written.push({ key: "sink", at: `sink.${spec.sink.kind}`, path: spec.sink.path });
  }
  if (trace !== undefined) written.push({ key: "trace", ...trace });
  else if (spec.options.trace !== undefined) {
    written.push({ key: "trace", at: "options.trace", path: spec.options.trace });
  }
  return written;
}

/**
 * Why a run of `spec` may not write the file at `path` (`at` names it in
 * the message): the source reads it, or (unless `at` is the sink) the sink
 * writes it. `undefined` when it may.
 */
export async function overwriteError(
  spec: Pick<PipelineSpec, "source" | "sink">,
  at: string,
  path: string,
): Promise<string | undefined> {
  const source = await readBy(spec.source, path);
  if (source !== undefined) {
    return `${at} ${path} is also read by ${source}: the run would destroy its own input`;
  }
  const sink = spec.sink;
  if (!at.startsWith("sink.") && (sink.kind === "jsonl" || sink.kind === "text")) {
    if (await sameFile(sink.path, path)) {
      return `${at} ${path} is also written by sink.${sink.kind}: one would replace the other`;
    }
  }
  return undefined;
}
