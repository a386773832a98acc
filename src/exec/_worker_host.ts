// The script every pool worker runs: imports kernels on demand, runs each
// batch of inputs one after another, and reports results in one message per
// batch. It reports its own death (an uncaught error, or close()) before it
// goes, and keeps the id of the running task in a shared slot so that the
// pool knows which task a crash belongs to.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { FromWorker, RunMessage, ToWorker } from "./_protocol.ts";
import { runBatch, sendable } from "./_run_batch.ts";

let slot: Int32Array<ArrayBufferLike> = new Int32Array(1);
let queue: Promise<void> = Promise.resolve();
let dying = false;

const realClose = self.close.bind(self);

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function crash(cause: unknown): void {
  if (dying) return;
  dying = true;
  const taskId = Atomics.load(slot, 0);
  try {
    post({ type: "crash", cause, taskId });
  } catch {
    post({ type: "crash", cause: String(cause), taskId });
  }
  realClose();
}

self.close = () => crash(new Error("the worker called close()"));
self.addEventListener("error", (event) => {
  event.preventDefault();
  crash(event.error ?? new Error(event.message));
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  crash(event.reason);
});

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "init") slot = message.slot;
  else queue = queue.then(() => run(message));
};

// Whether the pool withdrew task `id` before it started (cells 1.. of the
// shared slot); the cell is freed. The pool writes the id, then reads cell 0:
// with this side writing cell 0 first, one of the two sees the other.
function cancelled(id: number): boolean {
  for (let i = 1; i < slot.length; i++) {
    if (Atomics.load(slot, i) === id) {
      Atomics.store(slot, i, -1);
      return true;
    }
  }
  return false;
}

async function run(message: RunMessage): Promise<void> {
  const outcome = await runBatch(message, {
    running: (id) => Atomics.store(slot, 0, id),
    withdrawn: cancelled,
    dying: () => dying,
  });
  if (outcome === undefined) return;
  Atomics.store(slot, 0, -1);
  try {
    post(outcome.done, outcome.transfer);
  } catch {
    post(sendable(outcome.done, structuredClone));
  }
}
