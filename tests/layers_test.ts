// The structure the code keeps: layers that depend one way, private files
// that stay private to their folder, and no private state handed out
// through static blocks.

import assert from "node:assert/strict";

const SRC = new URL("../src/", import.meta.url);

// Each folder and the folders it may import from.
const ALLOWED: Record<string, readonly string[]> = {
  _internal: [],
  stream: ["_internal"],
  exec: ["_internal", "stream"],
  pipeline: ["_internal", "stream", "exec"],
  batch: ["_internal", "stream", "exec"],
  operations: ["_internal", "stream", "exec"],
  nats: ["_internal", "stream", "exec"],
  config: ["_internal", "stream", "exec", "pipeline", "nats"],
};

async function sources(): Promise<{ folder: string; file: string; text: string }[]> {
  const out = [];
  for (const folder of Object.keys(ALLOWED)) {
    for await (const entry of Deno.readDir(new URL(`${folder}/`, SRC))) {
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(new URL(`${folder}/${entry.name}`, SRC));
      out.push({ folder, file: `${folder}/${entry.name}`, text });
    }
  }
  return out;
}

const IMPORT = /(?:from|import)\s*\(?\s*"\.\.\/([a-z_]+)\/([^"]+)"/g;

Deno.test("layers depend one way: each folder imports only the folders below it", async () => {
  const wrong: string[] = [];
  for (const { folder, file, text } of await sources()) {
    for (const [, target] of text.matchAll(IMPORT)) {
      if (!ALLOWED[folder]!.includes(target!)) wrong.push(`${file} imports ../${target}/`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("no file imports another folder's _-prefixed file", async () => {
  const wrong: string[] = [];
  for (const { file, text } of await sources()) {
    for (const [, target, path] of text.matchAll(IMPORT)) {
      if (target !== "_internal" && path!.split("/").some((part) => part.startsWith("_"))) {
        wrong.push(`${file} imports ../${target}/${path}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("no static block hands out private state", async () => {
  const found = (await sources()).filter(({ text }) => /^\s*static\s*\{/m.test(text));
  assert.deepEqual(found.map((s) => s.file), []);
});

Deno.test("the _internal folder imports nothing else of the library", async () => {
  const files = (await sources()).filter((s) => s.folder === "_internal");
  assert(files.length > 0);
  for (const { file, text } of files) {
    assert(!/from "\.\.\//.test(text), `${file} imports outside _internal`);
  }
});
