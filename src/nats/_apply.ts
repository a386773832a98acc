// The kernel a NATS worker runs on its local pool: a whole task's items, one
// after another on one thread, each failing on its own. One message to the
// thread per task instead of one per item.

import { toWire, type WireError } from "./_protocol.ts";

/** A task's items, to apply `exportName` of `module` to. */
export interface Application {
  module: string;
  exportName: string;
  inputs: unknown[];
  /** Each input is the argument list. */
  spread: boolean;
}

/** Values in order (`null` where an item failed) and the failures. */
export interface Applied {
  values: unknown[];
  errors: [number, WireError][];
}

const loaded = new Map<string, Promise<Record<string, unknown>>>();

/** Runs every item of `a`; a failure is an error in its place. */
export async function applyAll(a: Application): Promise<Applied> {
  let namespace = loaded.get(a.module);
  if (namespace === undefined) loaded.set(a.module, namespace = import(a.module));
  let fn: unknown;
  try {
    fn = (await namespace)[a.exportName];
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot load kernel "${a.exportName}": module ${a.module} has no function export "${a.exportName}"`,
      );
    }
  } catch (error) {
    loaded.delete(a.module);
    const wire = toWire(error);
    return { values: a.inputs.map(() => null), errors: a.inputs.map((_, i) => [i, wire]) };
  }
  const f = fn as (...args: unknown[]) => unknown;
  const values: unknown[] = new Array(a.inputs.length);
  const errors: [number, WireError][] = [];
  for (let i = 0; i < a.inputs.length; i++) {
    try {
      let value = a.spread ? f(...(a.inputs[i] as unknown[])) : f(a.inputs[i]);
      if (value instanceof Promise) value = await value;
      values[i] = value === undefined ? null : value;
    } catch (error) {
      values[i] = null;
      errors.push([i, toWire(error)]);
    }
  }
  return { values, errors };
}
