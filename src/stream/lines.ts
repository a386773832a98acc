/**
 * The `lines` stage: text chunks to lines.
 *
 * @module
 */

import { Stage } from "./_stage.ts";
import type { StageStream } from "./types.ts";

// Linear in the text's size however it is cut: each chunk is searched once,
// and the pieces of an unfinished line are joined once, when it ends.
class LinesStage extends Stage<string, string> {
  /** The pieces of the line not ended yet. */
  #pending: string[] = [];

  constructor() {
    super("lines", 1);
  }

  protected accept(chunk: string): void {
    let end = chunk.indexOf("\n");
    if (end === -1) {
      if (chunk !== "") this.#pending.push(chunk);
      return;
    }
    let line = chunk.slice(0, end);
    if (this.#pending.length > 0) {
      this.#pending.push(line);
      line = this.#pending.join("");
      this.#pending = [];
    }
    this.emit(withoutCr(line));
    let start = end + 1;
    for (end = chunk.indexOf("\n", start); end !== -1; end = chunk.indexOf("\n", start)) {
      this.emit(withoutCr(chunk.slice(start, end)));
      start = end + 1;
    }
    if (start < chunk.length) this.#pending.push(chunk.slice(start));
  }

  protected override flush(): void {
    const rest = withoutCr(this.#pending.join(""));
    this.#pending = [];
    if (rest !== "") this.emit(rest);
  }
}

function withoutCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
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
