/**
 * The docs of the public options interfaces come from the options'
 * descriptions (`Schema`s, see src/_internal/options.ts): each property's
 * JSDoc is the description's `doc` and `default`, written here.
 *
 * `deno task docs:options` rewrites the interfaces from the descriptions;
 * tests/option_docs_test.ts fails when they differ.
 *
 * @module
 */

import type { OptionSpec } from "../src/_internal/options.ts";
import { BAGS } from "./option_bags.ts";

const WIDTH = 100;

/** One registered bag: its interface, where it is written, its description. */
export interface Bag {
  readonly file: string;
  readonly name: string;
  readonly schema: Readonly<Record<string, OptionSpec>>;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split("\n\n")) {
    if (out.length > 0) out.push("");
    let line = "";
    // A code span is one word: it is never cut.
    for (const word of paragraph.match(/(?:`[^`]*`|\S)+/g) ?? []) {
      if (line !== "" && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    if (line !== "") out.push(line);
  }
  return out;
}

/** The JSDoc block of an option, at two spaces of indent. */
export function render(spec: OptionSpec): string[] {
  const single = `  /** ${spec.doc} */`;
  if (spec.default === undefined && !spec.doc.includes("\n") && single.length <= WIDTH) {
    return [single];
  }
  const body = wrap(spec.doc, WIDTH - 5).map((l) => (l === "" ? "   *" : `   * ${l}`));
  const tail = spec.default === undefined ? [] : ["   *", `   * @default {${spec.default}}`];
  return ["  /**", ...body, ...tail, "   */"];
}

/** The text of `file` with the docs of `bag`'s properties written from its description. */
export function rewrite(text: string, bag: Bag): { text: string; missing: string[] } {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => new RegExp(`^export interface ${bag.name}\\b`).test(l));
  if (start === -1) throw new Error(`${bag.file}: no interface ${bag.name}`);
  const out = lines.slice(0, start + 1);
  const seen = new Set<string>();
  let i = start + 1;
  while (i < lines.length && lines[i] !== "}") {
    if (lines[i]!.startsWith("  /**")) {
      let end = i;
      while (!lines[end]!.includes("*/")) end++;
      const member = lines[end + 1]?.match(/^ {2}(?:readonly )?(\w+)\??:/);
      const key = member?.[1];
      if (key !== undefined && Object.hasOwn(bag.schema, key)) {
        seen.add(key);
        out.push(...render(bag.schema[key]!));
      } else {
        out.push(...lines.slice(i, end + 1));
      }
      if (key !== undefined) out.push(lines[end + 1]!);
      i = end + (key === undefined ? 1 : 2);
      continue;
    }
    const bare = lines[i]!.match(/^ {2}(?:readonly )?(\w+)\??:/);
    if (bare !== null && Object.hasOwn(bag.schema, bare[1]!)) {
      seen.add(bare[1]!);
      out.push(...render(bag.schema[bare[1]!]!));
    }
    out.push(lines[i]!);
    i++;
  }
  out.push(...lines.slice(i));
  const own = [...text.slice(text.indexOf(`export interface ${bag.name}`)).split("\n}")[0]!
    .matchAll(/^ {2}(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]!);
  return { text: out.join("\n"), missing: own.filter((k) => !seen.has(k) && !(k in bag.schema)) };
}

/** Every file whose option docs differ from the descriptions, with the text they should have. */
export async function stale(root: URL): Promise<Map<string, { now: string; want: string }>> {
  const files = new Map<string, { now: string; want: string }>();
  for (const bag of BAGS) {
    const entry = files.get(bag.file);
    const now = entry?.now ?? await Deno.readTextFile(new URL(bag.file, root));
    const { text } = rewrite(entry?.want ?? now, bag);
    files.set(bag.file, { now, want: text });
  }
  for (const [file, { now, want }] of files) if (now === want) files.delete(file);
  return files;
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const differ = await stale(root);
  for (const [file, { want }] of differ) {
    await Deno.writeTextFile(new URL(file, root), want);
    console.log(`wrote ${file}`);
  }
  if (differ.size === 0) console.log("the option docs match their descriptions");
}
