// Builds tests/fixtures/kernels.c into a shared library in a temporary
// directory, for tests/native_test.ts and bench/native.ts.

const SOURCE = new URL("./fixtures/kernels.c", import.meta.url);

/** The fixture's symbols, as `native()` takes them. */
export const KERNELS = {
  sum_squares: { parameters: ["buffer", "usize"], result: "f64", nonblocking: true },
  burn: { parameters: ["f64", "i32"], result: "f64", nonblocking: true },
  burn_sync: { name: "burn", parameters: ["f64", "i32"], result: "f64" },
  enter_and_wait: { parameters: ["i32", "i32"], result: "i32", nonblocking: true },
  enter_and_wait_sync: { name: "enter_and_wait", parameters: ["i32", "i32"], result: "i32" },
  inside_now: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A built library; disposing it removes its directory. */
export interface BuiltLibrary extends AsyncDisposable {
  /** The library's absolute path. */
  readonly path: string;
}

/** The file name of a shared library called `name` on this system. */
export function libraryName(name: string): string {
  if (Deno.build.os === "windows") return `${name}.dll`;
  if (Deno.build.os === "darwin") return `lib${name}.dylib`;
  return `lib${name}.so`;
}

/**
 * Compiles the fixture with the system's C compiler (`CC`, or `cc`).
 * `-ffp-contract=off` keeps `x * x + sum` from becoming a fused
 * multiply-add, so that the sums match TypeScript's exactly.
 */
export async function buildKernels(): Promise<BuiltLibrary> {
  const dir = await Deno.makeTempDir({ prefix: "conveyor_native_" });
  const path = `${dir}/${libraryName("kernels")}`;
  const cc = Deno.env.get("CC") || "cc";
  const args = ["-O2", "-ffp-contract=off", "-shared", "-fPIC"];
  try {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(cc, {
        args: [...args, decodeURIComponent(SOURCE.pathname), "-o", path],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      throw new Error(`Cannot build the native test kernels: cannot run "${cc}"`, {
        cause: error,
      });
    }
    if (!output.success) {
      throw new Error(
        `Cannot build the native test kernels: ${cc} exited with code ${output.code}\n${
          new TextDecoder().decode(output.stderr)
        }`,
      );
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
