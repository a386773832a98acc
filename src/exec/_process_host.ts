// The program every ProcessPool child runs. Kernel modules are preloaded
// (`deno run --preload`), so importing them needs no permission. Batches
// arrive framed on stdin and run one after another; results go back framed
// on stdout (see src/exec/_frames.ts). The child reports its own death (an
// uncaught error) before it goes, and exits when the pool closes stdin.

import { checkSerializable, childFrame, FrameReader, startFrame } from "./_frames.ts";
import type { FromProcess, RunMessage } from "./_protocol.ts";
import { runBatch, sendable } from "./_run_batch.ts";

type WriteSync = (p: Uint8Array) => number;
const writeSync = ((globalThis as Record<symbol, unknown>)[Symbol.for("conveyor.stdout")] ??
  Deno.stdout.writeSync.bind(Deno.stdout)) as WriteSync;

let running = -1;
let dying = false;
let queue: Promise<void> = Promise.resolve();

function write(bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += writeSync(bytes.subarray(at));
}

function post(message: FromProcess): void {
  write(childFrame(message));
}

function crash(cause: unknown): void {
  if (dying) return;
  dying = true;
  try {
    post({ type: "crash", cause, taskId: running });
  } catch {
    post({ type: "crash", cause: String(cause), taskId: running });
  }
  Deno.exit(1);
}

globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  crash(event.error ?? new Error(event.message));
});
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  crash(event.reason);
});

async function run(message: RunMessage): Promise<void> {
  const outcome = await runBatch(message, {
    running(id, first) {
      running = id;
      if (!first) write(startFrame(id));
    },
    withdrawn: () => false,
    dying: () => dying,
  });
  if (outcome === undefined) return;
  running = -1;
  try {
    post(outcome.done);
  } catch {
    post(sendable(outcome.done, checkSerializable));
  }
}

// Reaching this line means the preloaded kernel modules loaded.
post({ type: "ready" });
const frames = new FrameReader(false);
for await (const chunk of Deno.stdin.readable) {
  frames.push(chunk);
  for (let frame = frames.next(); frame !== undefined; frame = frames.next()) {
    if ("message" in frame) queue = queue.then(() => run(frame.message as RunMessage));
  }
}
// The pool closed stdin: it is done with this child.
Deno.exit(0);
