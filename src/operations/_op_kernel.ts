// The kernel an Operations stage runs for an export that is a class (a
// function export is a kernel itself): it calls an operation by module and
// export name. The class is instantiated once per worker and called through
// its `call` method, so its state lives in that instance. On the main
// thread, where a worker's one instance would be shared by every
// Operations, each operation brings its own `home`. It imports the
// operation's module when first called: on a pool given to Operations that
// module must load where this runs (a ProcessPool's children need read
// access to it; a NATS worker must allow this file's folder).

/** Where an operation on the main thread keeps its own callable. */
export interface Home {
  call?: Promise<(input: unknown) => unknown>;
}

/** One call of an operation. */
export interface Invocation {
  module: string;
  name: string;
  input: unknown;
  /** On the main thread: the operation's own instance, made at its first call. */
  home?: Home;
}

const loaded = new Map<string, Promise<(input: unknown) => unknown>>();

/** The operation `name` of `module` as a function (a class: one instance's `call`). */
export async function makeOperation(
  module: string,
  name: string,
): Promise<(input: unknown) => unknown> {
  const namespace = await import(module) as Record<string, unknown>;
  return asCallable(namespace[name], `"${name}" of ${module}`);
}

/** The operation `name` of `module`, made once in this worker. */
export function loadOperation(module: string, name: string): Promise<(input: unknown) => unknown> {
  const key = `${module}#${name}`;
  let fn = loaded.get(key);
  if (fn === undefined) {
    fn = makeOperation(module, name);
    loaded.set(key, fn);
  }
  return fn;
}

/** `value` as a function: a function itself, or a class's instance's `call`. */
export function asCallable(value: unknown, what: string): (input: unknown) => unknown {
  if (typeof value !== "function") {
    throw new TypeError(`Operation ${what} is not a function or a class, got ${typeof value}`);
  }
  if (!isClass(value)) return value as (input: unknown) => unknown;
  const instance = new (value as new () => { call?: unknown })();
  if (typeof instance.call !== "function") {
    throw new TypeError(`Operation ${what} is a class without a call(input) method`);
  }
  return (input) => (instance.call as (input: unknown) => unknown)(input);
}

/** Whether `fn` is a class (called with `new`). */
export function isClass(fn: unknown): boolean {
  return typeof fn === "function" && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/** Runs one call (the kernel). */
export async function invoke({ module, name, input, home }: Invocation): Promise<unknown> {
  const call = home === undefined
    ? loadOperation(module, name)
    : (home.call ??= makeOperation(module, name));
  return await (await call)(input);
}
