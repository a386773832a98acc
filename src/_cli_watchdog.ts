// The command line's Ctrl-C watchdog, a module Web Worker. A SIGINT
// listener on the main thread cannot run while a kernel blocks the event
// loop; this one runs on its own thread. The first SIGINT asks the main
// thread to stop the run (a message it reads once its loop is free). A
// second SIGINT, or the run still going `graceMs` later, ends the process
// at once: its child processes are killed (a busy one would not notice that
// its parent is gone), this listener is removed, and the process sends
// itself SIGINT, which with no listener left ends it as Ctrl-C does (exit
// status 130).

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { WatchdogMessage, WatchdogStart } from "./_cli_interrupt.ts";

const encoder = new TextEncoder();
let options: WatchdogStart = { graceMs: 3000, terminal: false };
let timer: ReturnType<typeof setTimeout> | undefined;
let exiting = false;

function say(text: string): void {
  let bytes = encoder.encode(`${options.terminal ? "\r\x1b[K" : ""}${text}\n`);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
}

function onSignal(): void {
  if (timer === undefined) {
    say("interrupted: stopping the run (Ctrl-C again to exit at once)");
    self.postMessage("interrupt" satisfies WatchdogMessage);
    const seconds = options.graceMs / 1000;
    timer = setTimeout(
      () => void exitNow(`the run did not stop within ${seconds} s`),
      options.graceMs,
    );
  } else {
    void exitNow("interrupted again");
  }
}

async function exitNow(why: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  say(`${why}: exiting now`);
  const children = await descendants(Deno.pid);
  for (const pid of children) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone already, or not ours to kill.
    }
  }
  // A kill is delivered, not done, when kill() returns: wait until they are
  // dead (a second at most), so that none outlives this process.
  const until = Date.now() + 1000;
  while (Date.now() < until && (await Promise.all(children.map(running))).some(Boolean)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  try {
    Deno.kill(Deno.pid, "SIGINT");
  } catch (error) {
    say(`cannot end the process: ${(error as Error).message}`);
  }
}

// Whether a process runs (Linux: it is in /proc and not a zombie; elsewhere
// this cannot be told, and the answer is no).
async function running(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  return stat !== "" && stat[stat.lastIndexOf(")") + 2] !== "Z";
}

// The processes below `root`: from /proc on Linux, else from `ps`.
async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
      // pid (comm) state ppid ...; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (Number.isInteger(ppid)) parents.set(Number(entry.name), ppid);
    }
  } catch {
    try {
      const ps = await new Deno.Command("ps", { args: ["-A", "-o", "pid=,ppid="] }).output();
      for (const line of new TextDecoder().decode(ps.stdout).split("\n")) {
        const [pid, ppid] = line.trim().split(/\s+/).map(Number);
        if (Number.isInteger(pid) && Number.isInteger(ppid)) parents.set(pid!, ppid!);
      }
    } catch {
      return [];
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent && pid !== root) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

self.onmessage = (event: MessageEvent<WatchdogStart>) => {
  options = event.data;
  Deno.addSignalListener("SIGINT", onSignal);
  self.postMessage("ready" satisfies WatchdogMessage);
};
