// Checks of YAML nodes that collect every mistake with its line and column,
// instead of stopping at the first.

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  type LineCounter,
  type Node,
  Parser,
} from "yaml";
import { closest } from "../_internal/closest.ts";
import { type OptionSpec, unknownKey } from "../_internal/options.ts";
import { inYaml } from "./options.ts";
import { SpecError } from "./spec_error.ts";

export { closest };

/** A key of a mapping and its value (`null` when the key has none). */
export interface Entry {
  readonly key: Node;
  readonly value: Node | null;
}

/** Describes a YAML value for a message. */
export function describe(node: Node | null): string {
  if (node === null) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (!isScalar(node)) return "an alias";
  const v = node.value;
  if (v === null) return "nothing";
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

const COLLECTIONS = new Set(["block-map", "block-seq", "flow-collection"]);

/**
 * Where lists and mappings first nest more than `limit` deep in a YAML text
 * (an offset), or `undefined`. The yaml package recurses once per level
 * when a nested block ends, and again when it composes the document:
 * thousands of levels overflow the call stack. This feeds its parser one
 * token at a time and stops as soon as too many collections are open.
 */
export function tooDeep(text: string, limit: number): number | undefined {
  const parser = new Parser();
  for (const lexeme of new Lexer().lex(text)) {
    for (const _ of parser.next(lexeme)) {
      // Whole documents: only the open collections matter here.
    }
    const open = parser.stack.filter((token) => COLLECTIONS.has(token.type));
    if (open.length > limit) return open[limit]!.offset;
  }
  return undefined;
}

/** `word` with "a" or "an" before it. */
export function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? "an" : "a"} ${word}`;
}

/** Collects mistakes; each check returns the value, or `undefined` after reporting. */
export class Checker {
  readonly errors: SpecError[] = [];
  readonly #file: string;
  readonly #lines: LineCounter;
  readonly #doc: Document;

  constructor(file: string, lines: LineCounter, doc: Document) {
    this.#file = file;
    this.#lines = lines;
    this.#doc = doc;
  }

  /** Reports a mistake at a node (or at an offset in the text). */
  error(at: Node | null | number, message: string, expected?: string): undefined {
    const offset = typeof at === "number" ? at : at?.range?.[0] ?? 0;
    const { line, col } = this.#lines.linePos(offset);
    this.errors.push(new SpecError(this.#file, line, col, message, expected));
    return undefined;
  }

  /** Follows an alias to the node it names. */
  resolve(node: Node | null): Node | null {
    return isAlias(node) ? (node.resolve(this.#doc) as Node | undefined) ?? null : node;
  }

  /**
   * The entries of a mapping, reporting keys not in `allowed` as code
   * reports an unknown option: with the valid key it most likely means (an
   * alias in `specs`, or the closest name), the same guess for the same
   * typo in a spec and in code.
   */
  map(
    node: Node | null,
    path: string,
    allowed: readonly string[],
    fallback: Node | null | number = node,
    specs?: Readonly<Record<string, OptionSpec>>,
  ): Map<string, Entry> | undefined {
    const entries = this.entries(node, path, `a mapping with keys ${allowed.join(", ")}`, fallback);
    for (const [name, { key }] of entries ?? []) {
      if (!allowed.includes(name)) this.unknownKey(key, path, name, allowed, specs);
    }
    return entries;
  }

  /** The entries of a mapping, whatever their keys; the first of a repeated key. */
  entries(
    node: Node | null,
    path: string,
    expected: string,
    fallback: Node | null | number = node,
  ): Map<string, Entry> | undefined {
    node = this.resolve(node);
    if (!isMap(node)) return this.error(node ?? fallback, `${path} is ${describe(node)}`, expected);
    const entries = new Map<string, Entry>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const name = isScalar(key) ? key.value : undefined;
      if (typeof name !== "string") {
        this.error(key ?? node, `a key of ${path} is ${describe(key)}`, "a name");
      } else if (!entries.has(name)) {
        entries.set(name, { key: key!, value: this.resolve(pair.value as Node | null) });
      }
    }
    return entries;
  }

  /** Reports a key of the mapping at `path` that is not one of `keys`. */
  unknownKey(
    at: Node,
    path: string,
    name: string,
    keys: readonly string[],
    specs?: Readonly<Record<string, OptionSpec>>,
  ): undefined {
    return this.error(at, unknownKey(path === "" ? "the spec" : path, name, keys, specs));
  }

  /** The one key of `kinds` that `entries` has; reports none or several. */
  oneOf<K extends string>(
    entries: Map<string, Entry>,
    path: string,
    kinds: readonly K[],
    at: Node | null | number,
  ): K | undefined {
    const present = [...entries.keys()].filter((k): k is K => kinds.includes(k as K));
    if (present.length === 1) return present[0];
    if (present.length === 0) {
      return this.error(at, `${path} has none of ${kinds.join(", ")}`, `exactly one of them`);
    }
    return this.error(
      entries.get(present[1]!)!.key,
      `${path} has more than one kind: ${present.join(" and ")}`,
      `exactly one of ${kinds.join(", ")}`,
    );
  }

  /** A scalar value that passes `test`. */
  scalar<T>(
    node: Node | null,
    path: string,
    expected: string,
    test: (value: unknown) => value is T,
  ): T | undefined {
    const value = isScalar(node) ? node.value : undefined;
    if (test(value)) return value;
    return this.error(node, `${path} is ${describe(node)}`, expected);
  }

  /** A positive integer. */
  positiveInteger(node: Node | null, path: string): number | undefined {
    return this.scalar(
      node,
      path,
      "a positive integer",
      (v): v is number => typeof v === "number" && v >= 1 && Number.isInteger(v),
    );
  }

  /**
   * The value of an option that `spec` describes, with its words (YAML's
   * `.inf` for Infinity); a mistyped one of `words` gets a guess.
   */
  option<T>(
    node: Node | null,
    path: string,
    spec: OptionSpec,
    words: readonly string[] = [],
  ): T | undefined {
    const value = isScalar(node) ? node.value : undefined;
    if (value !== undefined && spec.test(value)) return value as T;
    const guess = typeof value === "string" ? closest(value, words) : undefined;
    const hint = guess === undefined ? "" : ` (did you mean "${guess}"?)`;
    return this.error(node, `${path} is ${describe(node)}${hint}`, inYaml(spec.expected));
  }

  /** A finite number. */
  number(node: Node | null, path: string): number | undefined {
    return this.scalar(node, path, "a number", (v): v is number => Number.isFinite(v));
  }

  /** A non-empty string. */
  string(node: Node | null, path: string, expected = "a string"): string | undefined {
    return this.scalar(node, path, expected, (v): v is string => typeof v === "string" && v !== "");
  }

  /** One of a few words. */
  choice<T extends string>(node: Node | null, path: string, words: readonly T[]): T | undefined {
    const value = isScalar(node) ? node.value : undefined;
    if (words.includes(value as T)) return value as T;
    const guess = typeof value === "string" ? closest(value, words) : undefined;
    const hint = guess === undefined ? "" : ` (did you mean "${guess}"?)`;
    return this.error(node, `${path} is ${describe(node)}${hint}`, `one of ${words.join(", ")}`);
  }
}
