// Checks that kernel modules exist and have the exports a spec names,
// without running them: `deno doc --json` reads a module's exports from its
// syntax, one subprocess per module, all modules at once.

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Node } from "yaml";
import { type Checker, closest, withArticle } from "./_yaml_check.ts";

/** A `map` stage's module and export, and the node to report mistakes at. */
export interface ExportUse {
  /** The module's absolute `file:` URL. */
  readonly module: string;
  /** The module as written in the spec. */
  readonly written: string;
  readonly exportName: string;
  readonly node: Node;
}

/** Why an export cannot be a kernel (`"an interface"`), or `null` when it may be one. */
type Verdict = string | null;

/** Reports every use of a module that does not exist or lacks the export. */
export async function checkExports(uses: readonly ExportUse[], checker: Checker): Promise<void> {
  const byModule = Map.groupBy(uses, (u) => u.module);
  await Promise.all([...byModule].map(async ([module, group]) => {
    const path = fileURLToPath(module);
    const written = group[0]!.written;
    let missing: string | undefined;
    try {
      if (!(await Deno.stat(path)).isFile) missing = `module ${written} is not a file (${path})`;
    } catch {
      missing = `module ${written} does not exist (${path})`;
    }
    const exports = missing === undefined ? await exportsOf(module, path) : undefined;
    for (const use of group) {
      if (missing !== undefined) {
        checker.error(use.node, missing, "a module path relative to the spec file");
      } else if (typeof exports === "string") {
        checker.error(use.node, exports, "a module that deno can parse");
      } else if (!exports!.has(use.exportName)) {
        const names = [...exports!].filter(([, v]) => v === null).map(([name]) => name);
        const guess = closest(use.exportName, names);
        checker.error(
          use.node,
          `module ${written} has no export "${use.exportName}"` +
            (guess === undefined ? "" : ` (did you mean "${guess}"?)`),
          names.length === 0 ? "a module with exported functions" : `one of ${names.join(", ")}`,
        );
      } else if (exports!.get(use.exportName) !== null) {
        checker.error(
          use.node,
          `export "${use.exportName}" of module ${written} is ${
            exports!.get(use.exportName)
          }, not a function`,
          "an exported function",
        );
      }
    }
  }));
}

interface TsType {
  kind?: string;
  repr?: string;
  value?: unknown;
}

interface DocJson {
  nodes?: Record<string, {
    symbols?: {
      name: string;
      declarations?: { declarationKind?: string; kind: string; def?: { tsType?: TsType } }[];
    }[];
  }>;
}

// Functions may be kernels, and so may variables unless their declared or
// inferred type is a literal or a primitive (`export const SIZE = 224`).
function verdict(kind: string, type: TsType | undefined): Verdict {
  if (kind === "function") return null;
  if (kind !== "variable") return withArticle(kind);
  if (type?.kind === "literal") return `a constant ${type.repr ?? ""}`.trimEnd();
  if (type?.kind === "keyword" && !["any", "unknown"].includes(String(type.value))) {
    return `of type ${type.repr ?? String(type.value)}`;
  }
  return null;
}

// The module's exports with their verdicts, or why they cannot be read.
async function exportsOf(module: string, path: string): Promise<Map<string, Verdict> | string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "--quiet", path],
    cwd: dirname(path),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const fail = (why: string) => `cannot read the exports of module ${path}: ${why}`;
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr);
    const line = text.split("\n").find((l) => /error|Error/.test(l)) ?? text.split("\n")[0];
    return fail(line?.trim() || `deno doc exited with ${output.code}`);
  }
  let doc: DocJson;
  try {
    doc = JSON.parse(new TextDecoder().decode(output.stdout));
  } catch (error) {
    return fail(`deno doc gave no JSON: ${(error as Error).message}`);
  }
  const nodes = doc.nodes ?? {};
  const node = nodes[module] ?? Object.values(nodes)[0];
  const exports = new Map<string, Verdict>();
  for (const symbol of node?.symbols ?? []) {
    const declaration = symbol.declarations?.find((d) => d.declarationKind !== "private");
    if (declaration === undefined) continue;
    exports.set(symbol.name, verdict(declaration.kind, declaration.def?.tsType));
  }
  return exports;
}
