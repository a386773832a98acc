// Runs one batch of a kernel's inputs, one after another, in a worker or a
// child process; shared by src/exec/_worker_host.ts and _process_host.ts.

import type { DoneMessage, RunMessage } from "./_protocol.ts";
import { loadKernel } from "./_kernel_loader.ts";
import { isTransfer } from "./transfer.ts";

/** What the host does around each task. */
export interface BatchHooks {
  /** Task `id` starts (`first`: the batch's first, also while its module loads). */
  running(id: number, first: boolean): void;
  /** The batch's kernel module loaded (or failed to, with an error for its tasks). */
  loaded(): void;
  /** Whether the pool withdrew task `id` (asked once, as it starts). */
  withdrawn(id: number): boolean;
  /** Whether the host is dying (stop at once). */
  dying(): boolean;
}

// When this worker (or process) finished its previous batch.
let finished: number | undefined;

/** The batch's outcome, and what its results ask to transfer; undefined when dying. */
export async function runBatch(
  message: RunMessage,
  hooks: BatchHooks,
): Promise<{ done: DoneMessage; transfer: Transferable[] } | undefined> {
  const started = performance.now();
  const idle = finished === undefined ? 0 : Math.max(0, started - finished);
  const { ids, inputs } = message;
  const values: unknown[] = new Array(ids.length);
  const errors: [number, unknown][] = [];
  const transfer: Transferable[] = [];
  let fn: ((...args: unknown[]) => unknown) | undefined;
  let loadError: unknown;
  // A module that kills its host while loading is blamed on the first task.
  hooks.running(ids[0]!, true);
  try {
    fn = await loadKernel(message.module, message.exportName);
  } catch (error) {
    loadError = error;
  }
  hooks.loaded();
  const load = performance.now() - started;
  for (let i = 0; i < ids.length && !hooks.dying(); i++) {
    if (fn === undefined) {
      errors.push([i, loadError]);
      continue;
    }
    if (i > 0) hooks.running(ids[i]!, false);
    if (hooks.withdrawn(ids[i]!)) continue;
    try {
      // Through Reflect.apply: V8's mid-tier compiler (Maglev) would inline
      // a small kernel into this loop, and the kernel's own loops then run
      // there, several times slower than in its own optimized code, for as
      // long as the worker lives (a ~40 µs kernel took ~160 µs an item).
      let value = Reflect.apply(
        fn,
        undefined,
        message.spread ? [...(inputs[i] as unknown[])] : [inputs[i]],
      );
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
  if (hooks.dying()) return undefined;
  finished = performance.now();
  return {
    done: { type: "done", ids, values, errors, busy: finished - started, load, idle },
    transfer,
  };
}

/**
 * The batch's outcomes in a form that `check` accepts: an item whose value or
 * error cannot be sent fails with an error that says so.
 */
export function sendable(done: DoneMessage, check: (value: unknown) => void): DoneMessage {
  const failed = new Map(done.errors);
  const values: unknown[] = new Array(done.ids.length);
  const errors: [number, unknown][] = [];
  for (let i = 0; i < done.ids.length; i++) {
    const outcome = failed.has(i) ? failed.get(i) : done.values[i];
    try {
      check(outcome);
      if (failed.has(i)) errors.push([i, outcome]);
      else values[i] = outcome;
    } catch (error) {
      const what = failed.has(i) ? "error" : "result";
      errors.push([
        i,
        new TypeError(
          `The kernel's ${what} cannot be sent to the pool: ${(error as Error).message}`,
        ),
      ]);
    }
  }
  return { ...done, values, errors };
}
