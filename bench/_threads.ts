/**
 * CPU time per thread of this process, from Linux's `/proc/self/task`: what
 * a bench reads to say where the machine's time went (the main thread, V8's
 * helper threads, the workers). Elsewhere it reads nothing.
 *
 * @module
 */

/** CPU milliseconds per thread, keyed `name#tid`. */
export type ThreadTimes = Map<string, number>;

/** Each thread's CPU time so far (empty where `/proc` cannot be read). */
export function threadTimes(): ThreadTimes {
  const times: ThreadTimes = new Map();
  try {
    for (const { name: tid } of Deno.readDirSync("/proc/self/task")) {
      try {
        const name = Deno.readTextFileSync(`/proc/self/task/${tid}/comm`).trim();
        // schedstat: nanoseconds on the CPU, nanoseconds waiting for one, slices.
        const onCpu = Number(
          Deno.readTextFileSync(`/proc/self/task/${tid}/schedstat`).split(" ")[0],
        );
        times.set(`${name}#${tid}`, onCpu / 1e6);
      } catch {
        // The thread ended meanwhile.
      }
    }
  } catch {
    // Not Linux, or no permission: nothing to report.
  }
  return times;
}

/** CPU milliseconds between two readings of the main thread and of V8's helper threads. */
export function spentBesidesWorkers(
  before: ThreadTimes,
  after: ThreadTimes,
): { main: number; helpers: number } | undefined {
  if (after.size === 0) return undefined;
  let main = 0, helpers = 0;
  for (const [key, ms] of after) {
    const spent = ms - (before.get(key) ?? 0);
    if (key.endsWith(`#${Deno.pid}`)) main += spent;
    else if (key.startsWith("V8 ")) helpers += spent;
  }
  return { main, helpers };
}
