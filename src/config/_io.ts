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

const encoder = new TextEncoder();

/**
 * Writes every item to the sink, one line each, calling `written` per item.
 * Rejects with the items' own error (a `PipelineFailure`) when they fail.
 *
 * A file sink is opened, and truncated, at its first line (so after the
 * source has been read), or at the end of a run without items; a run that
 * fails before its first item leaves the file as it was. A url sink rejects
 * when the server answers before it has the whole body: the items not sent
 * would be lost without a word.
 */
export async function drain(
  items: AsyncIterable<unknown>,
  spec: SinkSpec,
  std: StdStreams,
  written: () => void,
): Promise<void> {
  let failure: { error: unknown } | undefined;
  let sent = 0;
  let ended = false; // every item is in the body
  let abandoned = false; // the body is no longer read
  const iterator = items[Symbol.asyncIterator]();
  const format = formatter(spec);
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      try {
        const result = await iterator.next();
        if (abandoned) return;
        if (result.done) {
          ended = true;
          return c.close();
        }
        c.enqueue(encoder.encode(format(result.value)));
        sent++;
        written();
      } catch (error) {
        if (abandoned) return;
        failure = { error };
        c.error(error);
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  }, { highWaterMark: 0 });
  try {
    switch (spec.kind) {
      case "jsonl":
      case "text":
        return await body.pipeTo(lazyFile(spec.path));
      case "stdout":
        return await body.pipeTo(std.stdout ?? Deno.stdout.writable, { preventClose: true });
      case "url": {
        let response: Response;
        try {
          response = await fetch(spec.url, {
            method: "POST",
            body,
            headers: { "content-type": "application/x-ndjson" },
            duplex: "half",
          } as RequestInit);
        } catch (error) {
          if (failure !== undefined) throw error;
          throw new Error(`POST ${spec.url} failed: ${why(error)}`, { cause: error });
        }
        await response.body?.cancel();
        const answer = `${response.status} ${response.statusText}`.trimEnd();
        if (!ended && failure === undefined) {
          // The server stopped reading: end the run instead of losing the rest.
          abandoned = true;
          controller?.error(new Error(`POST ${spec.url} was answered early`));
          await iterator.return?.();
          throw new Error(
            `POST ${spec.url} answered ${answer} before it had the whole body: ` +
              `${plural(sent)} sent, and the pipeline had more (expected the server to read ` +
              "the whole request before it answers)",
          );
        }
        if (!response.ok) throw new Error(`POST ${spec.url} answered ${answer}`);
      }
    }
  } catch (error) {
    throw failure === undefined ? error : failure.error;
  }
}

// The innermost cause of a failed fetch ("fetch failed" says nothing), without
// the url, which the message gives already.
function why(error: unknown): string {
  while (error instanceof Error && error.cause instanceof Error) error = error.cause;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^error sending request for url \([^)]*\): /, "");
}

function plural(n: number): string {
  return `${n} item${n === 1 ? "" : "s"}`;
}

// A file written line by line, opened (created or truncated) by its first
// write, or when it is closed without one.
function lazyFile(path: string): WritableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  const open = async (): Promise<Deno.FsFile> =>
    file ??= await Deno.open(path, { write: true, create: true, truncate: true });
  return new WritableStream({
    async write(chunk) {
      const f = await open();
      while (chunk.length > 0) chunk = chunk.subarray(await f.write(chunk));
    },
    async close() {
      (await open()).close();
    },
    abort() {
      file?.close();
    },
  });
}
