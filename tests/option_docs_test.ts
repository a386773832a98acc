// The docs of every public options interface are written from the options'
// descriptions (`deno task docs:options`): a description changed without
// the interface, or an interface edited by hand, fails here.

import assert from "node:assert/strict";
import { render, rewrite, stale } from "../tools/option_docs.ts";
import { BAGS } from "../tools/option_bags.ts";

Deno.test("every options interface documents each key as its description says", async () => {
  const differ = await stale(new URL("../", import.meta.url));
  assert.deepEqual(
    [...differ.keys()],
    [],
    "run `deno task docs:options` to write the docs from the descriptions",
  );
});

Deno.test("every key an options interface declares is described", async () => {
  for (const bag of BAGS) {
    const text = await Deno.readTextFile(new URL(`../${bag.file}`, import.meta.url));
    assert.deepEqual(rewrite(text, bag).missing, [], `${bag.name} in ${bag.file}`);
  }
});

Deno.test("a description is written as the key's JSDoc, with its default", () => {
  const spec = { doc: "How many.", expected: "a number", test: () => true, default: "1" };
  assert.deepEqual(render(spec), ["  /**", "   * How many.", "   *", "   * @default {1}", "   */"]);
  const text = "export interface X {\n  /** old */\n  n?: number;\n  other?: string;\n}\n";
  const { text: written } = rewrite(text, { file: "x.ts", name: "X", schema: { n: spec } });
  assert.equal(
    written,
    "export interface X {\n  /**\n   * How many.\n   *\n   * @default {1}\n   */\n  n?: number;\n  other?: string;\n}\n",
  );
  assert.deepEqual(rewrite(text, { file: "x.ts", name: "X", schema: { n: spec } }).missing, [
    "other",
  ]);
});
