// The NATS tests' fixture: a real `nats-server` with JetStream on a free
// loopback port and a temporary store, and `deno` children (workers) whose
// output is kept for the failure message. Every process started here is
// awaited on stop or dispose, and its pipes are read to their end, so the
// test sanitizers see nothing left behind.

/** How long a server may take to accept connections with JetStream on. */
const READY_LIMIT_MS = 20_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** Where Debian and others put the binaries when `PATH` lacks the sbin folders. */
const SBIN = ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"];
const INSTALL_HINT =
  "run .ci/run (it installs it from Debian's packages) or `apt-get install -y nats-server`";

/** Where `startNats` runs the server. */
export interface NatsOptions {
  /** The JetStream store folder; a new temporary one, removed on dispose, when absent. */
  store?: string;
  /** The client port; a free one when absent. */
  port?: number;
  /** The address to bind. @default {"127.0.0.1"} */
  host?: string;
  /** A network namespace to run the server in (`ip netns exec`). */
  netns?: string;
}

/** A running (or stopped) `nats-server` with JetStream. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The monitoring endpoint, `http://host:port` (`/jsz`, `/varz`, ...). */
  readonly monitor: string;
  /** The JetStream store folder. */
  readonly store: string;
  /** The process id of the current run; undefined while stopped. */
  readonly pid: number | undefined;
  /** Whether the server process is running. */
  readonly running: boolean;
  /** SIGTERM, then waits for the exit; SIGKILL after 10 s. Does nothing when stopped. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for the exit. Does nothing when stopped. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store (stopping it first if running); waits until ready. */
  restart(): Promise<void>;
  /** `GET /jsz` from the monitoring endpoint, parsed. */
  jsz(): Promise<Record<string, unknown>>;
  /** Everything the server wrote, across restarts. */
  log(): string;
}

/** A child process whose output is kept. */
export interface Child extends AsyncDisposable {
  readonly pid: number;
  /** Settles when the process exits (its pipes read to their end). */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether the process has not exited yet. */
  readonly running: boolean;
  /** Sends `signal` (SIGTERM by default); does nothing once it has exited. */
  kill(signal?: Deno.Signal): void;
  /** stdout and stderr, interleaved as they came. */
  log(): string;
  /**
   * Resolves once the output contains `pattern`; rejects when the process
   * exits first or after `limitMs` (a guard against a hang, not a timing).
   */
  waitFor(pattern: string | RegExp, limitMs?: number): Promise<void>;
}

/** A port no one listens on now, on `hostname` (loopback by default). */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/** The path of `name` on `PATH` or in the usual sbin folders; undefined when absent. */
export function findBinary(name: string): string | undefined {
  const folders = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...SBIN];
  for (const folder of folders) {
    try {
      const info = Deno.statSync(`${folder}/${name}`);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) return `${folder}/${name}`;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/** The `nats-server` binary (`$NATS_SERVER` first), or a clear error saying how to get it. */
export function natsServerBinary(): string {
  const given = Deno.env.get("NATS_SERVER");
  if (given) {
    try {
      if (Deno.statSync(given).isFile) return given;
    } catch {
      // Reported below.
    }
    throw new Error(`NATS_SERVER=${given} is not a file: unset it, or ${INSTALL_HINT}`);
  }
  const found = findBinary("nats-server");
  if (!found) {
    throw new Error(
      `nats-server is not installed (not on PATH nor in ${SBIN.join(", ")}): ${INSTALL_HINT}`,
    );
  }
  return found;
}

/** The command and arguments that run `program args` in `netns` when given. */
function inNamespace(program: string, args: string[], netns?: string): [string, string[]] {
  if (netns === undefined) return [program, args];
  const ip = findBinary("ip");
  if (!ip) throw new Error("`ip` is not installed: run .ci/run or `apt-get install -y iproute2`");
  return [ip, ["netns", "exec", netns, program, ...args]];
}

/** Spawns `program args`, keeping its output; see {@linkcode Child}. */
function spawnLogged(
  program: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Child {
  const spawned = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  const chunks: string[] = [];
  const watchers = new Set<() => void>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      chunks.push(text);
      for (const watcher of watchers) watcher();
    }
  };
  let running = true;
  // The pipes first: `status` settles only when all output has been kept.
  const status = Promise.all([drain(spawned.stdout), drain(spawned.stderr)])
    .then(() => spawned.status)
    .finally(() => {
      running = false;
      for (const watcher of watchers) watcher();
    });
  const log = () => chunks.join("");
  return {
    pid: spawned.pid,
    status,
    get running() {
      return running;
    },
    kill(signal: Deno.Signal = "SIGTERM") {
      if (!running) return;
      try {
        spawned.kill(signal);
      } catch (error) {
        // It exited between the check and the signal.
        if (!(error instanceof TypeError)) throw error;
      }
    },
    log,
    waitFor(pattern, limitMs = READY_LIMIT_MS) {
      const found = () =>
        typeof pattern === "string" ? log().includes(pattern) : pattern.test(log());
      return new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          watchers.delete(check);
          clearTimeout(timer);
          error ? reject(error) : resolve();
        };
        const check = () => {
          if (found()) done();
          else if (!running) {
            done(new Error(`${program} exited before printing ${pattern}:\n${log()}`));
          }
        };
        const timer = setTimeout(
          () => done(new Error(`${program} printed no ${pattern} in ${limitMs} ms:\n${log()}`)),
          limitMs,
        );
        watchers.add(check);
        check();
      });
    },
    async [Symbol.asyncDispose]() {
      this.kill("SIGKILL");
      await status;
    },
  };
}

/**
 * Spawns `deno args` (in the network namespace `netns` when given), with
 * stdin closed and its output kept; dispose kills it with SIGKILL and waits.
 */
export function spawnDeno(
  args: string[],
  options: { env?: Record<string, string>; netns?: string; cwd?: string } = {},
): Child {
  const [program, argv] = inNamespace(Deno.execPath(), args, options.netns);
  return spawnLogged(program, argv, options);
}

let servers = 0;

/**
 * Starts `nats-server -js` on a free port (or `options.port`) with a
 * temporary store (or `options.store`), and resolves once it accepts
 * connections with JetStream on. Throws with the server's log when it does
 * not get there within 20 s, and says how to install it when it is missing.
 */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const binary = natsServerBinary();
  const host = options.host ?? "127.0.0.1";
  const store = options.store ?? await Deno.makeTempDir({ prefix: "conveyor_nats_" });
  const name = `conveyor_test_${Deno.pid}_${++servers}`;
  const history: string[] = [];
  let child: Child | undefined;
  let port = options.port ?? 0;
  let monitorPort = 0;

  const run = async (): Promise<void> => {
    const args = ["-js", "-a", host, "-p", `${port}`, "-m", `${monitorPort}`, "-sd", store];
    const [program, argv] = inNamespace(binary, [...args, "--server_name", name], options.netns);
    const started = spawnLogged(program, argv);
    child = started;
    try {
      await whenReady(started, host, port, monitorPort, options.netns !== undefined);
    } catch (error) {
      await started[Symbol.asyncDispose]();
      child = undefined;
      throw error;
    }
  };
  // Another process may take a free port before the server binds it: then
  // try new ports, unless the caller chose the port.
  for (let attempt = 1;; attempt++) {
    if (options.port === undefined) port = portOn(host);
    monitorPort = portOn(host);
    try {
      await run();
      break;
    } catch (error) {
      const collided = /address already in use/i.test(String(error));
      if (!collided || attempt >= 5) {
        if (options.store === undefined) await Deno.remove(store, { recursive: true });
        throw error;
      }
    }
  }

  const stop = async (signal: "SIGTERM" | "SIGKILL") => {
    const current = child;
    if (!current) return;
    current.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (signal === "SIGTERM") timer = setTimeout(() => current.kill("SIGKILL"), STOP_GRACE_MS);
    try {
      await current.status;
    } finally {
      clearTimeout(timer);
      history.push(current.log());
      child = undefined;
    }
  };
  const shown = probeHost(host);
  let disposed = false;
  return {
    url: `nats://${shown}:${port}`,
    host,
    port,
    monitor: `http://${shown}:${monitorPort}`,
    store,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child?.running ?? false;
    },
    stop: () => stop("SIGTERM"),
    kill: () => stop("SIGKILL"),
    async restart() {
      if (disposed) throw new Error("restart(): this server was disposed");
      await stop("SIGTERM");
      await run();
    },
    async jsz() {
      const response = await fetch(`http://${shown}:${monitorPort}/jsz`);
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`GET /jsz answered ${response.status}`);
      }
      return await response.json();
    },
    log: () => [...history, ...(child ? [child.log()] : [])].join("\n--- restarted ---\n"),
    async [Symbol.asyncDispose]() {
      disposed = true;
      await stop("SIGTERM");
      if (options.store === undefined) await Deno.remove(store, { recursive: true });
    },
  };
}

/** A free port on `host`, or on loopback when `host` is not an address of this namespace. */
function portOn(host: string): number {
  try {
    return freePort(probeHost(host));
  } catch {
    return freePort();
  }
}

/** The address to reach a server bound to `host` from here. */
function probeHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
}

/**
 * Waits until the server announces itself ready, then (when it runs in this
 * namespace) until a client connection gets an INFO with `"jetstream":true`
 * and `/jsz` shows a JetStream config. Rejects when the process exits first.
 */
async function whenReady(
  child: Child,
  host: string,
  port: number,
  monitorPort: number,
  elsewhere: boolean,
): Promise<void> {
  const deadline = Date.now() + READY_LIMIT_MS;
  const fail = (why: string) =>
    new Error(`nats-server on ${host}:${port} ${why}; its log:\n${child.log()}`);
  try {
    // It prints this after JetStream is up and the client listener is open.
    await child.waitFor("Server is ready", READY_LIMIT_MS);
  } catch {
    throw fail(child.running ? `was not ready in ${READY_LIMIT_MS} ms` : "exited early");
  }
  if (elsewhere) return; // Another namespace: its loopback is not ours to probe.
  const info = await readInfo(probeHost(host), port, deadline - Date.now());
  if (info?.jetstream !== true) throw fail(`answered without JetStream: ${JSON.stringify(info)}`);
  const response = await fetch(`http://${probeHost(host)}:${monitorPort}/jsz`);
  const jsz = response.ok ? await response.json() : await response.body?.cancel();
  if (!jsz?.config) throw fail(`gave no JetStream config on /jsz (${response.status})`);
}

/** Connects to a NATS server and parses the INFO line it greets a client with. */
async function readInfo(
  hostname: string,
  port: number,
  limitMs: number,
): Promise<Record<string, unknown> | undefined> {
  const connection = await Deno.connect({ hostname, port });
  const timer = setTimeout(() => connection.close(), Math.max(limitMs, 1));
  let text = "";
  try {
    const buffer = new Uint8Array(4096);
    const decoder = new TextDecoder();
    while (!text.includes("\r\n")) {
      const read = await connection.read(buffer);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
    }
  } catch {
    // Closed by the timer: no INFO.
  } finally {
    clearTimeout(timer);
    try {
      connection.close();
    } catch {
      // Already closed by the timer.
    }
  }
  const line = text.split("\r\n")[0] ?? "";
  return line.startsWith("INFO ") ? JSON.parse(line.slice(5)) : undefined;
}

/** The processes whose parent is this one, from /proc (Linux). */
export async function childProcesses(): Promise<{ pid: number; command: string }[]> {
  const children: { pid: number; command: string }[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid ...: comm may hold spaces, so split after ")".
      const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === Deno.pid) children.push({ pid: Number(entry.name), command });
    } catch {
      // It exited while we looked.
    }
  }
  return children;
}
