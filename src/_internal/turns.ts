// Turns of the event loop for work that never leaves the microtask queue.
//
// A sync source feeding stages whose tasks return at once (or resolve at
// once) moves every item by promise reactions alone: the microtask queue
// never empties, so timers, I/O and abort signals (AbortSignal.timeout, a
// Ctrl-C handler) wait until the stream ends, which for an endless source is
// never. The places where items enter conveyor's streams (a source's pump,
// a stage's writable side fed by a foreign stream, a batch pipeline's
// producer) ask `turnDue()` as they go, and when it says so, go on after
// `afterTurn()`: a macrotask, after which timers that are due have run. The
// cost is one macrotask per TURN_MS of such work.

import { clearImmediate, setImmediate } from "node:timers";

// How long items may flow without the event loop turning (ms).
const TURN_MS = 10;
// Calls of turnDue() between two looks at the clock (a power of two).
const CHECK_EVERY = 64;

let since = performance.now();
let calls = 0;
// Resumes waiting for their turn.
let waiting = 0;

/**
 * Whether the event loop should turn before more work: true when TURN_MS
 * passed since the last turn this module saw (it looks at the clock on one
 * call in CHECK_EVERY, so that the check costs next to nothing per item).
 */
export function turnDue(): boolean {
  if ((++calls & (CHECK_EVERY - 1)) !== 0) return false;
  return performance.now() - since >= TURN_MS;
}

/** Runs `resume` after a turn of the event loop; returns what cancels it. */
export function afterTurn(resume: () => void): () => void {
  let pending = true;
  waiting++;
  const handle = setImmediate(() => {
    pending = false;
    waiting--;
    since = performance.now();
    resume();
  });
  return () => {
    if (!pending) return;
    pending = false;
    waiting--;
    clearImmediate(handle);
  };
}

/**
 * Whether work paused for a turn of the event loop goes on in this one's
 * immediates: what it gives belongs with what came before it (a pool's
 * fragment of a batch waits for the rest of the burst).
 */
export function turnAwaited(): boolean {
  return waiting > 0;
}

/** A promise that settles after a turn of the event loop. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => afterTurn(resolve));
}
