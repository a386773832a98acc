// The command line as the CLI tests run it: a subprocess in a temporary
// folder that holds the fixture kernels and the files a test names.

import { fileURLToPath } from "node:url";

/** The command line's module, as a path. */
export const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const FIXTURES = new URL("./fixtures/", import.meta.url);

/** How a run of the command line ended. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command line with `args`, in `dir`, without stdin and with its output piped. */
export function command(
  dir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", CLI, ...args],
    cwd: dir,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs the command line to its end. */
export async function cli(
  dir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Ran> {
  const output = await command(dir, args, env).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

/**
 * Runs `body` in a new temporary folder that holds the fixture kernels
 * (`cli_kernels.ts`, `cli_fault_kernels.ts`) and `files` (name: text), and
 * removes the folder afterwards, also after a failure.
 */
export async function inFolder(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conveyor_cli_" });
  try {
    for (const name of ["cli_kernels.ts", "cli_fault_kernels.ts"]) {
      await Deno.copyFile(new URL(name, FIXTURES), `${dir}/${name}`);
    }
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether a file exists. */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
