// The worker of _meta_probe.ts: imports each target's module, reads and
// checks the metadata on its export (and, for a class, on an instance, as
// blllib reads instance variables), and writes one answer into the shared
// buffer, then wakes the waiting constructor.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { capacity, type Found, HEADER, type ProbeAnswer, type ProbeTarget } from "./_meta_probe.ts";
import { isClass } from "./_op_kernel.ts";
import { readMeta } from "./options.ts";

interface Request {
  sab: SharedArrayBuffer;
  what: string;
  targets: ProbeTarget[];
}

const MAX_MESSAGE = 4_000;

self.onmessage = async (event: MessageEvent<Request>) => {
  const { sab, what, targets } = event.data;
  let answer: ProbeAnswer;
  try {
    const found: Found[] = [];
    for (const target of targets) found.push(await read(what, target));
    answer = { found };
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    answer = { error: { name, message: message.slice(0, MAX_MESSAGE) } };
  }
  write(sab, answer, targets.length);
};

// The checked metadata of one export, and whether it is a class.
async function read(what: string, { module, exportName }: ProbeTarget): Promise<Found> {
  const named = `${what}: operation "${exportName}" of ${module}`;
  let namespace: Record<string, unknown>;
  try {
    namespace = await import(module);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TypeError(`${named}: importing the module failed: ${reason}`);
  }
  if (!(exportName in namespace)) {
    const names = Object.keys(namespace).join(", ") || "none";
    throw new TypeError(`${named}: the module has no such export (its exports: ${names})`);
  }
  const value = namespace[exportName];
  if (typeof value !== "function") {
    throw new TypeError(`${named}: the export is not a function or a class, got ${typeof value}`);
  }
  const found = readMeta(named, value);
  if (!isClass(value)) return { meta: found, isClass: false };
  let instance: object;
  try {
    instance = new (value as new () => object)();
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`${named}: making an instance to read its fields failed: ${reason}`);
  }
  if (typeof (instance as { call?: unknown }).call !== "function") {
    throw new TypeError(`${named}: the class has no call(input) method`);
  }
  const meta = { ...found, ...readMeta(`${named} (an instance's fields)`, instance) };
  return { meta, isClass: true };
}

// Writes the answer (an error if it does not fit) and wakes the constructor.
function write(sab: SharedArrayBuffer, answer: ProbeAnswer, n: number): void {
  let bytes = new TextEncoder().encode(JSON.stringify(answer));
  if (bytes.length > capacity(n)) {
    const error = { name: "Error", message: "the metadata read is too long" };
    bytes = new TextEncoder().encode(JSON.stringify({ error }));
  }
  new Uint8Array(sab, HEADER).set(bytes);
  const header = new Int32Array(sab, 0, 2);
  Atomics.store(header, 1, bytes.length);
  Atomics.store(header, 0, 1);
  Atomics.notify(header, 0);
}
