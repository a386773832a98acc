// Reads the metadata that kernels' exports carry (properties of a function,
// static fields of a class, fields of an instance) while `new Operations()`
// runs: the constructor is synchronous and importing is not, so a
// short-lived module worker imports the modules and writes its answer into
// a SharedArrayBuffer while this thread waits on it with Atomics.wait.
//
// The buffer: an Int32 state (0 waiting, 1 written), an Int32 byte length,
// then that many bytes of JSON, a `ProbeAnswer`. Besides the metadata it
// says which exports are classes (called through an instance's `call`).

import type { OpMeta } from "./options.ts";

const WORKER = new URL("./_meta_probe_worker.ts", import.meta.url);

/** How long the constructor waits for the modules to load. */
export const PROBE_TIMEOUT_MS = 30_000;

/** An export to read, and how messages name it. */
export interface ProbeTarget {
  readonly module: string;
  readonly exportName: string;
}

/** What the probe found on one export: its metadata, and whether it is a class. */
export interface Found {
  readonly meta: Partial<OpMeta>;
  readonly isClass: boolean;
}

/** What the worker writes: what it found on every export, or the first error. */
export type ProbeAnswer =
  | { readonly found: Found[] }
  | { readonly error: { readonly name: string; readonly message: string } };

/** The header's size in bytes: state and length. */
export const HEADER = 8;

/** Bytes for the answer about `n` exports (an error message is cut to fit). */
export function capacity(n: number): number {
  return 16_384 + 128 * n;
}

/**
 * The metadata found on each target's export, in order, checked, and
 * whether the export is a class. Blocks
 * the calling thread until one worker has imported every module.
 *
 * @throws {TypeError} When a module fails to import, an export is missing or is not a function or a class, or a value has the wrong type.
 * @throws {RangeError} When a number is out of range.
 * @throws {Error} When the modules do not load within `timeoutMs`.
 */
export function probeMeta(
  what: string,
  targets: readonly ProbeTarget[],
  timeoutMs: number = PROBE_TIMEOUT_MS,
): Found[] {
  if (targets.length === 0) return [];
  const sab = new SharedArrayBuffer(HEADER + capacity(targets.length));
  const header = new Int32Array(sab, 0, 2);
  const worker = new Worker(WORKER, { type: "module", name: "conveyor-operations-probe" });
  let state: string;
  try {
    worker.postMessage({ sab, what, targets });
    state = Atomics.wait(header, 0, 0, timeoutMs);
  } finally {
    worker.terminate();
  }
  if (state === "timed-out" && Atomics.load(header, 0) === 0) {
    const names = targets.map((t) => `"${t.exportName}" of ${t.module}`).join(", ");
    throw new Error(
      `${what}: the modules of its kernels did not load within ${timeoutMs} ms while reading the metadata of ${names} (does a module block, or end its worker, as it loads?)`,
    );
  }
  const bytes = new Uint8Array(sab, HEADER, Atomics.load(header, 1)).slice();
  const answer = JSON.parse(new TextDecoder().decode(bytes)) as ProbeAnswer;
  if ("error" in answer) {
    const { name, message } = answer.error;
    throw name === "RangeError"
      ? new RangeError(message)
      : name === "TypeError"
      ? new TypeError(message)
      : new Error(message);
  }
  return answer.found;
}
