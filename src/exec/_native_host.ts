// The kernel a nativePool's workers run: opens the library once per worker
// (per symbol) and calls the symbol synchronously, on this worker's thread.

/** One call. */
export interface NativeCall {
  path: string;
  name: string;
  definition: Deno.ForeignFunction;
  args: unknown[];
}

const opened = new Map<string, (...args: unknown[]) => unknown>();

/** Runs one call of a library function on this thread. */
export function callNative({ path, name, definition, args }: NativeCall): unknown {
  const key = `${path}\0${name}`;
  let fn = opened.get(key);
  if (fn === undefined) {
    const { nonblocking: _, ...blocking } = definition;
    const library = Deno.dlopen(path, { [name]: blocking } as Deno.ForeignLibraryInterface);
    fn = library.symbols[name] as (...args: unknown[]) => unknown;
    opened.set(key, fn);
  }
  return fn(...args);
}
