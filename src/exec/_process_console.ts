// Preloaded into every ProcessPool child before any kernel module: stdout
// carries the pool's frames, so whatever a kernel prints goes to stderr.
// The real stdout writer is kept for src/exec/_process_host.ts.

import { Console } from "node:console";
import process from "node:process";

const stdout = Deno.stdout;
const stderr = Deno.stderr;
(globalThis as Record<symbol, unknown>)[Symbol.for("conveyor.stdout")] = stdout.writeSync.bind(
  stdout,
);
globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr }) as
  & Console
  & typeof globalThis.console;
stdout.write = (p) => stderr.write(p);
stdout.writeSync = (p) => stderr.writeSync(p);
Object.defineProperty(stdout, "writable", { get: () => stderr.writable });
