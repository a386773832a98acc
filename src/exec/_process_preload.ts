// Preloaded into every ProcessPool child before any kernel module. The
// child's stdin and stdout carry the pool's frames (src/exec/_frames.ts):
// this keeps them, and the real Deno.exit, for src/exec/_process_host.ts
// (which imports this same module instance) and guards them from kernels.
// What a kernel prints goes to stderr; reading stdin (Deno.stdin, node's
// process.stdin) throws, and processes it starts get no stdin; close() and Deno.exit() (node's process.exit()
// calls it) end the child at once, through the host, which first reports
// the task that called them.

import { Console } from "node:console";
import process from "node:process";

/** The child's own ends of the pool's channel, kept from its kernels. */
export interface Channel {
  /** Writes to the real stdout. */
  writeSync(p: Uint8Array): number;
  /** The real stdin. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The real Deno.exit. */
  exit(code?: number): never;
  /**
   * What close() and Deno.exit(`code`) do; `call` names the one called. The
   * host replaces it; until then (a kernel module's top level) the child
   * says so on stderr and exits.
   */
  onExit(call: string, code: number | undefined): never;
}

const stdin = Deno.stdin;
const stdout = Deno.stdout;
const stderr = Deno.stderr;
const exit = Deno.exit.bind(Deno);

/** The channel, for the host. */
export const channel: Channel = {
  writeSync: stdout.writeSync.bind(stdout),
  readable: stdin.readable,
  exit,
  onExit(call, code) {
    stderr.writeSync(new TextEncoder().encode(`a kernel module called ${call} as it loaded\n`));
    return exit(code ?? 1);
  },
};

globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr }) as
  & Console
  & typeof globalThis.console;
stdout.write = (p) => stderr.write(p);
stdout.writeSync = (p) => stderr.writeSync(p);
Object.defineProperty(stdout, "writable", { get: () => stderr.writable });

function refuse(): never {
  throw new Error(
    "stdin of a ProcessPool child carries the pool's messages: a kernel cannot read it " +
      "(pass what it needs as its input)",
  );
}
for (const name of ["read", "readSync", "close", "setRaw", Symbol.dispose]) {
  Object.defineProperty(stdin, name, { value: refuse, writable: true, configurable: true });
}
Object.defineProperty(stdin, "readable", { get: refuse, configurable: true });
// node's process.stdin reads through Deno.stdin, but reports a failed read
// later, when another task may be running: fail at once instead.
Object.defineProperty(process, "stdin", { get: refuse, configurable: true });
// A process a kernel starts would inherit the channel as its stdin (the
// default of spawn()): it gets none instead.
const Command = Deno.Command;
Deno.Command = class extends Command {
  constructor(command: string | URL, options?: Deno.CommandOptions) {
    super(command, { ...options, stdin: options?.stdin === "piped" ? "piped" : "null" });
  }
};

Deno.exit = (code?: number): never => channel.onExit(`Deno.exit(${code ?? ""})`, code);
globalThis.close = (): never => channel.onExit("close()", 1);
