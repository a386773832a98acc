// A spec's source as items, and its sink as lines written to a file,
// standard output or the body of a POST.

import { lines } from "../stream/lines.ts";
import { glob } from "./_glob.ts";
import type { SinkSpec, SourceSpec } from "./spec.ts";

/** Streams a spec's source and sink use instead of the process's own. */
export interface StdStreams {
  readonly stdin?: ReadableStream<Uint8Array>;
  readonly stdout?: WritableStream<Uint8Array>;
}

/** A source's items, and how many there are when that is known. */
export async function openSource(
  spec: SourceSpec,
  std: StdStreams,
): Promise<{ items: AsyncIterable<unknown> | Iterable<unknown>; total: number | undefined }> {
  switch (spec.kind) {
    case "range": {
      const { start, end, step } = spec;
      const total = Math.max(0, Math.ceil((end - start) / step));
      return { items: numbers(start, step, total), total };
    }
    case "glob": {
      const paths = await glob(spec.pattern);
      return { items: paths, total: paths.length };
    }
    case "lines":
    case "jsonl":
      return { items: textLines(() => open(spec.path), spec.path, spec.kind), total: undefined };
    case "stdin": {
      const stdin = () => Promise.resolve(std.stdin ?? Deno.stdin.readable);
      return { items: textLines(stdin, "<stdin>", spec.format), total: undefined };
    }
  }
}

function* numbers(start: number, step: number, total: number): Generator<number> {
  for (let i = 0; i < total; i++) yield start + i * step;
}

async function open(path: string): Promise<ReadableStream<Uint8Array>> {
  return (await Deno.open(path)).readable;
}

// Lines (or JSON values, blank lines skipped), opened on the first read;
// stopping early cancels the stream, which closes the file.
async function* textLines(
  open: () => Promise<ReadableStream<Uint8Array>>,
  name: string,
  format: "lines" | "jsonl",
): AsyncGenerator<unknown> {
  const text = (await open()).pipeThrough(new TextDecoderStream()).pipeThrough(lines());
  let n = 0;
  for await (const line of text) {
    n++;
    if (format === "lines") {
      yield line;
    } else if (line.trim() !== "") {
      try {
        yield JSON.parse(line);
      } catch (error) {
        throw new SyntaxError(`${name}:${n}: not JSON: ${(error as Error).message}`);
      }
    }
  }
}

/** An item as a line of the sink's format, with its `\n`. */
function formatter(spec: SinkSpec): (item: unknown) => string {
  const format = spec.kind === "stdout" ? spec.format : spec.kind === "text" ? "text" : "jsonl";
  return format === "text"
    ? (item) => `${String(item)}\n`
    : (item) => `${JSON.stringify(item) ?? "null"}\n`;
}

/**
 * Writes every item to the sink, one line each, calling `written` per item.
 * Rejects with the items' own error (a `PipelineFailure`) when they fail.
 */
export async function drain(
  items: AsyncIterable<unknown>,
  spec: SinkSpec,
  std: StdStreams,
  written: () => void,
): Promise<void> {
  let failure: { error: unknown } | undefined;
  const iterator = items[Symbol.asyncIterator]();
  const format = formatter(spec);
  const body = new ReadableStream<string>({
    async pull(controller) {
      try {
        const result = await iterator.next();
        if (result.done) return controller.close();
        controller.enqueue(format(result.value));
        written();
      } catch (error) {
        failure = { error };
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  }, { highWaterMark: 0 }).pipeThrough(new TextEncoderStream());
  try {
    switch (spec.kind) {
      case "jsonl":
      case "text": {
        const file = await Deno.open(spec.path, { write: true, create: true, truncate: true });
        return await body.pipeTo(file.writable);
      }
      case "stdout":
        return await body.pipeTo(std.stdout ?? Deno.stdout.writable, { preventClose: true });
      case "url": {
        const response = await fetch(spec.url, {
          method: "POST",
          body,
          headers: { "content-type": "application/x-ndjson" },
          duplex: "half",
        } as RequestInit);
        await response.body?.cancel();
        if (!response.ok) {
          throw new Error(`POST ${spec.url} answered ${response.status} ${response.statusText}`);
        }
      }
    }
  } catch (error) {
    throw failure === undefined ? error : failure.error;
  }
}
