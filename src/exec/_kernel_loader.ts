// Imports kernel modules (once each) and finds their exports, with errors
// that name the module and the export. Shared by the worker and process hosts.

const modules = new Map<string, Promise<Record<string, unknown>>>();

/** The function `exportName` of `module`, imported once. */
export async function loadKernel(
  module: string,
  exportName: string,
): Promise<(...args: unknown[]) => unknown> {
  let loading = modules.get(module);
  if (loading === undefined) {
    loading = import(module) as Promise<Record<string, unknown>>;
    modules.set(module, loading);
  }
  let namespace;
  try {
    namespace = await loading;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TypeError(
      `Cannot load kernel "${exportName}": importing module ${module} failed: ${reason}`,
      { cause },
    );
  }
  if (!(exportName in namespace)) {
    const names = Object.keys(namespace).join(", ") || "none";
    throw new TypeError(
      `Cannot load kernel "${exportName}": module ${module} has no export "${exportName}" (its exports: ${names})`,
    );
  }
  const fn = namespace[exportName];
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot load kernel "${exportName}": export "${exportName}" of module ${module} is not a function, got ${typeof fn}`,
    );
  }
  return fn as (...args: unknown[]) => unknown;
}
