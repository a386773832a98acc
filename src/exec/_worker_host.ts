// The script every pool worker runs: imports kernels on demand, runs each
// batch of inputs one after another, and reports results in one message per
// batch. It reports its own death (an uncaught error, close(), Deno.exit())
// before it goes, and keeps the id of the running task in a shared slot so
// that the pool knows which task a crash belongs to. (Deno.exit() in a
// worker ends it without a word to the parent: it runs here before any
// kernel module, so it can replace Deno.exit, which node's process.exit()
// calls too.)

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { FromWorker, RunMessage, ToWorker } from "./_protocol.ts";
import { runBatch, sendable } from "./_run_batch.ts";

let slot: Int32Array<ArrayBufferLike> = new Int32Array(1);
let queue: Promise<void> = Promise.resolve();
let dying = false;
// Whether the running batch's kernel module is loading.
let loading = false;

const realClose = self.close.bind(self);
const realExit = Deno.exit.bind(Deno);

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function crash(cause: unknown): void {
  if (dying) return;
  dying = true;
  const taskId = Atomics.load(slot, 0);
  try {
    post({ type: "crash", cause, taskId, loading });
  } catch {
    post({ type: "crash", cause: String(cause), taskId, loading });
  }
  realClose();
}

// A kernel (or a kernel module as it loads) called `call`.
function called(call: string): Error {
  return new Error(
    loading ? `the module called ${call} as it loaded` : `the kernel called ${call}`,
  );
}

self.close = () => crash(called("close()"));
Deno.exit = (code?: number): never => {
  crash(called(`Deno.exit(${code ?? ""})`));
  // The pool has the report; end now, as Deno.exit() does.
  return realExit(code);
};
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
    running(id, first) {
      Atomics.store(slot, 0, id);
      loading = first;
    },
    loaded: () => loading = false,
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
