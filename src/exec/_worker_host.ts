// The script every pool worker runs: imports kernels on demand, runs each
// batch of inputs one after another, and reports results in one message per
// batch. It reports its own death (an uncaught error, or close()) before it
// goes, and keeps the id of the running task in a shared slot so that the
// pool knows which task a crash belongs to.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { FromWorker, RunMessage, ToWorker } from "./_protocol.ts";
import { loadKernel } from "./_kernel_loader.ts";
import { isTransfer } from "./transfer.ts";

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
  const started = performance.now();
  const { ids, inputs } = message;
  const values: unknown[] = new Array(ids.length);
  const errors: [number, unknown][] = [];
  const transfer: Transferable[] = [];
  let fn: ((input: unknown) => unknown) | undefined;
  let loadError: unknown;
  // A module that kills the worker while loading is blamed on the first task.
  Atomics.store(slot, 0, ids[0]!);
  try {
    fn = await loadKernel(message.module, message.exportName);
  } catch (error) {
    loadError = error;
  }
  for (let i = 0; i < ids.length && !dying; i++) {
    if (fn === undefined) {
      errors.push([i, loadError]);
      continue;
    }
    Atomics.store(slot, 0, ids[i]!);
    if (cancelled(ids[i]!)) continue;
    try {
      let value = fn(inputs[i]);
      if (value instanceof Promise) value = await value;
      if (isTransfer(value)) {
        transfer.push(...value.list);
        value = value.value;
      }
      values[i] = value;
    } catch (error) {
      errors.push([i, error]);
    }
  }
  if (dying) return;
  Atomics.store(slot, 0, -1);
  const done: FromWorker = { type: "done", ids, values, errors, busy: performance.now() - started };
  try {
    post(done, transfer);
  } catch {
    post(sendable(done));
  }
}

// The batch's outcomes as something postMessage accepts: an item whose value
// or error cannot be cloned fails with an error that says so.
function sendable(done: FromWorker & { type: "done" }): FromWorker {
  const failed = new Map(done.errors);
  const values: unknown[] = new Array(done.ids.length);
  const errors: [number, unknown][] = [];
  for (let i = 0; i < done.ids.length; i++) {
    const outcome = failed.has(i) ? failed.get(i) : done.values[i];
    try {
      structuredClone(outcome);
      if (failed.has(i)) errors.push([i, outcome]);
      else values[i] = outcome;
    } catch (error) {
      const what = failed.has(i) ? "error" : "result";
      errors.push([
        i,
        new TypeError(
          `The kernel's ${what} cannot be sent to the main thread: ${(error as Error).message}`,
        ),
      ]);
    }
  }
  return { ...done, values, errors };
}
