// Links to `deno` child processes running src/exec/_process_host.ts, with
// the kernel modules preloaded and only the permissions the pool was given.

import { fileURLToPath } from "node:url";
import { checkSerializable, FrameReader, parentFrame } from "./_frames.ts";
import type { Link, LinkEvents, LinkFactory } from "./_link.ts";
import type { FromProcess, RunMessage } from "./_protocol.ts";

const HOST = new URL("./_process_host.ts", import.meta.url).href;
const PRELOAD = new URL("./_process_preload.ts", import.meta.url).href;
// How much of a child's last stderr output a crash report quotes.
const TAIL = 2000;

class ProcessLink implements Link {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** The ids of the batches sent and not done, oldest first. */
  readonly #batches: number[][] = [];
  readonly #gone: Promise<void>;
  /** A task of the oldest batch that reported its start (the first's is implied). */
  #started = -1;
  #killed = false;
  #ready = false;
  /** The end of what the child wrote to stderr (also passed on to ours). */
  #tail = "";

  constructor(flags: readonly string[], modules: readonly string[], events: LinkEvents) {
    const args = ["run", "--quiet", "--no-prompt", ...flags, "--preload", PRELOAD];
    for (const module of modules) args.push("--preload", module);
    args.push(HOST);
    this.#child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#gone = Promise.all([this.#watch(events), this.#relay()]).then(() => {});
  }

  get pid(): number {
    return this.#child.pid;
  }

  send(message: RunMessage): void {
    const bytes = parentFrame(message);
    this.#batches.push(message.ids);
    // A write to a child that died fails here; its stdout's end reports it.
    this.#stdin.write(bytes).catch(() => {});
  }

  check(input: unknown): void {
    checkSerializable(input);
  }

  running(): number {
    return this.#started !== -1 ? this.#started : (this.#batches[0]?.[0] ?? -1);
  }

  withdraw(): boolean {
    // The child runs it anyway; the pool ignores the result.
    return true;
  }

  forget(): void {}

  kill(): Promise<void> {
    if (!this.#killed) {
      this.#killed = true;
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
    }
    return this.#gone;
  }

  // Reads the child's frames until its stdout ends, then reports its death
  // unless the pool killed it.
  async #watch(events: LinkEvents): Promise<void> {
    const frames = new FrameReader(true);
    let cause: unknown;
    let culprit: number | undefined;
    try {
      for await (const chunk of this.#child.stdout) {
        frames.push(chunk);
        for (let frame = frames.next(); frame !== undefined; frame = frames.next()) {
          if ("start" in frame) {
            this.#started = frame.start;
            continue;
          }
          const message = frame.message as FromProcess;
          if (message.type === "ready") {
            this.#ready = true;
          } else if (message.type === "crash") {
            cause = message.cause;
            culprit = message.taskId;
          } else if (!this.#killed) {
            this.#batches.shift();
            this.#started = -1;
            events.done(message);
          }
        }
      }
    } catch (garbage) {
      cause = garbage;
      culprit = this.running();
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
    }
    const status = await this.#child.status;
    await this.#stdin.abort().catch(() => {});
    if (this.#killed) return;
    this.#killed = true;
    await this.#relayed;
    if (cause === undefined) {
      const said = this.#tail.trim();
      cause = new Error(
        `the process ${exited(status)}${said === "" ? "" : `; its stderr ends:\n${said}`}`,
      );
    }
    events.crash(cause, culprit ?? this.running(), !this.#ready);
  }

  #relayed: Promise<void> = Promise.resolve();

  // Passes the child's stderr on to ours, keeping its end for crash reports.
  #relay(): Promise<void> {
    this.#relayed = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of this.#child.stderr) {
        this.#tail = (this.#tail + decoder.decode(chunk, { stream: true })).slice(-TAIL);
        try {
          await Deno.stderr.write(chunk);
        } catch {
          // Our stderr is gone; keep reading so that the child never blocks.
        }
      }
    })();
    return this.#relayed;
  }
}

function exited(status: Deno.CommandStatus): string {
  return status.signal === null
    ? `exited with code ${status.code}`
    : `was killed by ${status.signal}`;
}

/**
 * Permissions of a ProcessPool's children: `true` for all, or a list of
 * paths (strings or `file:` URLs), hosts or names. One entry is one value
 * of a `--allow-*` flag, so it may not contain a comma.
 *
 * @example Reading two folders
 * ```ts
 * import { type PermissionList, ProcessPool } from "@conveyor/core";
 * import assert from "node:assert/strict";
 *
 * const read: PermissionList = [new URL("../../tests/fixtures/", import.meta.url), "./data"];
 * await using pool = new ProcessPool({ size: 1, permissions: { read } });
 * assert.equal(pool.size, 1);
 * const bad: PermissionList = ["./a,./b"];
 * assert.throws(() => new ProcessPool({ permissions: { read: bad } }), TypeError);
 * ```
 */
export type PermissionList = boolean | readonly (string | URL)[];

/** The `deno run` flags that grant `permissions`. */
export function permissionFlags(permissions: Record<string, PermissionList | undefined>): string[] {
  const flags: string[] = [];
  for (const [name, value] of Object.entries(permissions)) {
    if (value === true) flags.push(`--allow-${name}`);
    else if (Array.isArray(value) && value.length > 0) {
      const list = value.map((v: string | URL) =>
        v instanceof URL ? (v.protocol === "file:" ? fileURLToPath(v) : v.href) : v
      );
      flags.push(`--allow-${name}=${list.join(",")}`);
    }
  }
  return flags;
}

/** Makes links to child processes run with `flags`. */
export function processLinks(flags: readonly string[]): LinkFactory {
  return {
    kind: "ProcessPool",
    eager: false,
    preloads: true,
    spawn: (_pool, _id, modules, events) => new ProcessLink(flags, modules, events),
  };
}
