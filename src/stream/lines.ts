/**
 * The `lines` stage: text chunks to lines.
 *
 * @module
 */

import { Stage } from "./_stage.ts";
import type { StageStream } from "./types.ts";

class LinesStage extends Stage<string, string> {
  #rest = "";

  constructor() {
    super("lines", 1);
  }

  protected accept(chunk: string): void {
    let text = this.#rest + chunk;
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      this.emit(
        text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end),
      );
      start = end + 1;
    }
    text = text.slice(start);
    this.#rest = text;
  }

  protected override flush(): void {
    const rest = this.#rest.endsWith("\r") ? this.#rest.slice(0, -1) : this.#rest;
    this.#rest = "";
    if (rest !== "") this.emit(rest);
  }
}

/**
 * Splits a stream of text chunks into lines, on `\n` or `\r\n`, however the
 * chunks cut them. The line terminators are removed; a last line without
 * one is kept, an empty one is not.
 *
 * @returns A `TransformStream` from text chunks to lines.
 *
 * @example Lines of a file
 * ```ts
 * import { lines } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "one\r\ntwo\nthree");
 * using file = await Deno.open(path);
 * const out = file.readable.pipeThrough(new TextDecoderStream()).pipeThrough(lines());
 * assert.deepEqual(await Array.fromAsync(out), ["one", "two", "three"]);
 * await Deno.remove(path);
 * ```
 */
export function lines(): StageStream<string, string> {
  return new LinesStage();
}
