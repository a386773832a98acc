// The program every ProcessPool child runs. Kernel modules are preloaded
// (`deno run --preload`), so importing them needs no permission. Batches
// arrive framed on stdin and run one after another; results go back framed
// on stdout (see src/exec/_frames.ts); src/exec/_process_preload.ts keeps
// both ends from the kernels. The child reports its own death (an uncaught
// error, close(), Deno.exit()) before it goes, and exits when the pool
// closes stdin.

import { checkSerializable, childFrame, FrameReader, startFrame } from "./_frames.ts";
import type { FromProcess, RunMessage } from "./_protocol.ts";
import { channel } from "./_process_preload.ts";
import { runBatch, sendable } from "./_run_batch.ts";

let running = -1;
let dying = false;
let queue: Promise<void> = Promise.resolve();

function write(bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += channel.writeSync(bytes.subarray(at));
}

function post(message: FromProcess): void {
  write(childFrame(message));
}

function crash(cause: unknown, code = 1): never {
  if (!dying) {
    dying = true;
    try {
      post({ type: "crash", cause, taskId: running });
    } catch {
      post({ type: "crash", cause: String(cause), taskId: running });
    }
  }
  return channel.exit(code);
}

channel.onExit = (call, code) => crash(new Error(`the kernel called ${call}`), code);

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
    loaded() {},
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
for await (const chunk of channel.readable) {
  frames.push(chunk);
  for (let frame = frames.next(); frame !== undefined; frame = frames.next()) {
    if ("message" in frame) queue = queue.then(() => run(frame.message as RunMessage));
  }
}
// The pool closed stdin: it is done with this child.
channel.exit(0);
