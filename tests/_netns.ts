// "Hosts" on this machine for tests that need a network between machines:
// network namespaces joined by a bridge in the root namespace, made with
// `ip` (iproute2) as root. Each host is a namespace with a veth whose other
// end sits on the bridge; the bridge has the subnet's .1, host i has .(i+2).
// Nothing is routed or forwarded: only the bridge and the namespaces carry
// the traffic. Every name holds the test's process id, so leftovers of a
// crashed run are found (and removed) by the next one.

/** Every namespace made here starts with this. */
export const NETNS_PREFIX = "conveyor-host-";
// Interface names are at most 15 bytes: prefix + pid (7 digits at most) + "x" + index.
const BRIDGE_PREFIX = "cnvb";
const LINK_PREFIX = "cnvh"; // the root end of a host's veth, on the bridge
const PEER_PREFIX = "cnvp"; // the host's end, inside its namespace
const SBIN = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"];

/** One "host": a network namespace with one address on the bridge. */
export interface Host {
  /** The namespace (for `ip netns exec` and `spawnDeno(..., { netns })`). */
  readonly netns: string;
  /** Its address on the bridge. */
  readonly address: string;
  /** The root end of its veth (on the bridge): taking it down cuts the host off. */
  readonly link: string;
  /** Takes the host's link down: its traffic to the bridge is dropped. */
  cut(): Promise<void>;
  /** Brings the host's link up again. */
  heal(): Promise<void>;
}

/** Namespaces on a bridge; dispose removes them, their veths and the bridge. */
export interface Hosts extends AsyncDisposable {
  /** The bridge's name, in the root namespace. */
  readonly bridge: string;
  /** The bridge's address: where the hosts reach this (root) namespace. */
  readonly address: string;
  /** The /24 subnet, `10.X.0.0/24`. */
  readonly subnet: string;
  readonly hosts: readonly Host[];
}

/**
 * The `ip` binary, when this process may make namespaces (root, iproute2
 * installed); otherwise throws saying what is missing and how to get it.
 */
export function requireNetns(): string {
  const uid = Deno.uid();
  if (uid !== 0) {
    throw new Error(
      `network namespaces need root: this test runs as uid ${uid}; run it as root (CI does)`,
    );
  }
  const ip = findIp();
  if (ip === undefined) {
    throw new Error(
      "`ip` (iproute2) is not installed: run .ci/run or `apt-get install -y iproute2`",
    );
  }
  return ip;
}

function findIp(): string | undefined {
  const folders = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...SBIN];
  for (const folder of folders) {
    try {
      if (Deno.statSync(`${folder}/ip`).isFile) return `${folder}/ip`;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/** Runs `ip args`; throws with the command and its stderr when it fails. */
async function ip(args: string[]): Promise<string> {
  const { success, code, stdout, stderr } = await new Deno.Command(requireNetns(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!success) {
    throw new Error(`ip ${args.join(" ")} exited with ${code}: ${decoder.decode(stderr).trim()}`);
  }
  return decoder.decode(stdout);
}

/** `ip args`, ignoring "it is not there" (removing what may be gone already). */
async function ipIfThere(args: string[]): Promise<void> {
  try {
    await ip(args);
  } catch (error) {
    const message = (error as Error).message;
    if (!/cannot find device|no such device|no such file|does not exist|not found/i.test(message)) {
      throw error;
    }
  }
}

/** Whether `pid` is a live deno process other than this one's past self. */
function liveDeno(pid: number): boolean {
  if (pid === Deno.pid) return false; // our names from before we made them: a dead run's
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("deno");
  } catch {
    return false;
  }
}

async function namespaces(): Promise<string[]> {
  const text = await ip(["-j", "netns", "list"]);
  const list = text.trim() === "" ? [] : JSON.parse(text) as { name: string }[];
  return list.map((n) => n.name);
}

async function links(): Promise<string[]> {
  const list = JSON.parse(await ip(["-j", "link", "show"])) as { ifname: string }[];
  return list.map((l) => l.ifname);
}

/**
 * Removes the namespaces, veths and bridges that a run whose process is
 * gone left behind (it crashed before its cleanup), killing what still
 * runs inside those namespaces and the `nats-server` bound to such a
 * bridge's address. Returns what it removed.
 */
export async function removeLeftovers(): Promise<string[]> {
  requireNetns();
  const removed: string[] = [];
  const stale = (name: string, prefix: string) => {
    if (!name.startsWith(prefix)) return false;
    const pid = Number(/^(\d+)/.exec(name.slice(prefix.length))?.[1] ?? NaN);
    return Number.isInteger(pid) && !liveDeno(pid);
  };
  for (const ns of await namespaces()) {
    if (!stale(ns, NETNS_PREFIX)) continue;
    await killInside(ns);
    await ipIfThere(["netns", "delete", ns]);
    removed.push(ns);
  }
  for (const name of await links()) {
    const bare = name.split("@")[0]!;
    if ([BRIDGE_PREFIX, LINK_PREFIX, PEER_PREFIX].some((p) => stale(bare, p))) {
      if (bare.startsWith(BRIDGE_PREFIX)) {
        for (const address of await addressesOf(bare)) {
          removed.push(...(await killServersOn(address)).map((pid) => `nats-server ${pid}`));
        }
      }
      await ipIfThere(["link", "delete", bare]);
      removed.push(bare);
    }
  }
  return removed;
}

async function addressesOf(link: string): Promise<string[]> {
  const list = JSON.parse(await ip(["-j", "-4", "addr", "show", "dev", link])) as {
    addr_info?: { local: string }[];
  }[];
  return list.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
}

/**
 * SIGKILLs the `nats-server` processes bound (`-a`) to `address`, a dead
 * run's bridge address (a crashed test's server, left running), and removes
 * their temporary stores.
 */
async function killServersOn(address: string): Promise<number[]> {
  const killed: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let args: string[];
    try {
      args = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
    } catch {
      continue; // exited
    }
    const bound = args.findIndex((a, i) => a === "-a" && args[i + 1] === address) !== -1;
    if (!bound || !/(^|\/)nats-server$/.test(args[0] ?? "")) continue;
    try {
      Deno.kill(Number(entry.name), "SIGKILL");
      killed.push(Number(entry.name));
    } catch {
      // It exited meanwhile.
    }
    // Its temporary store, as tests/_nats.ts names it.
    const store = args[args.indexOf("-sd") + 1] ?? "";
    if (/\/conveyor_nats_[^/]+$/.test(store)) {
      await Deno.remove(store, { recursive: true }).catch(() => {});
    }
  }
  return killed;
}

/** SIGKILLs the processes inside namespace `ns` (which this test's runs started). */
async function killInside(ns: string): Promise<void> {
  let text = "";
  try {
    text = await ip(["netns", "pids", ns]);
  } catch {
    return; // gone
  }
  for (const pid of text.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // It exited meanwhile.
    }
  }
}

const toNumber = (a: string) => a.split(".").reduce((n, part) => n * 256 + Number(part), 0);

/** Whether the networks `a/aLength` and `b/bLength` overlap. */
function overlaps([a, aLength]: [number, number], [b, bLength]: [number, number]): boolean {
  const common = Math.min(aLength, bLength);
  const mask = common === 0 ? 0 : (0xffffffff << (32 - common)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** This namespace's IPv4 addresses, by interface. */
async function addresses(): Promise<{ ifindex: number; net: [number, number] }[]> {
  const links = JSON.parse(await ip(["-j", "-4", "addr", "show"])) as {
    ifindex: number;
    addr_info?: { local: string; prefixlen: number }[];
  }[];
  return links.flatMap((l) =>
    (l.addr_info ?? []).map((a) => ({
      ifindex: l.ifindex,
      net: [toNumber(a.local), a.prefixlen] as [number, number],
    }))
  );
}

/** The first 10.X.0.0/24 (X from `from`) that no address or route of this namespace touches. */
async function freeSubnet(from: number): Promise<number> {
  const used = (await addresses()).map((a) => a.net);
  const routes = JSON.parse(await ip(["-j", "-4", "route", "show", "table", "all"])) as {
    dst: string;
  }[];
  for (const { dst } of routes) {
    const match = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(dst);
    if (match) used.push([toNumber(match[1]!), Number(match[2] ?? 32)]);
  }
  for (let x = from; x <= 254; x++) {
    const net: [number, number] = [toNumber(`10.${x}.0.0`), 24];
    if (!used.some((u) => overlaps(net, u))) return x;
  }
  throw new Error("no free 10.2xx.0.0/24 subnet for the test's bridge");
}

/**
 * Gives `bridge` the address .1 of a free 10.X.0.0/24, X from 200. Two runs
 * that picked the same subnet at once both see it: the one whose bridge came
 * later moves on to the next.
 */
async function claimSubnet(bridge: string): Promise<number> {
  const [{ ifindex }] = JSON.parse(await ip(["-j", "link", "show", "dev", bridge])) as [
    { ifindex: number },
  ];
  for (let x = await freeSubnet(200);; x = await freeSubnet(x + 1)) {
    await ip(["addr", "add", `10.${x}.0.1/24`, "dev", bridge]);
    const net: [number, number] = [toNumber(`10.${x}.0.0`), 24];
    const rivals = (await addresses()).filter((a) => a.ifindex !== ifindex && overlaps(a.net, net));
    if (rivals.every((a) => a.ifindex > ifindex)) return x;
    await ip(["addr", "del", `10.${x}.0.1/24`, "dev", bridge]);
  }
}

/**
 * Makes `count` hosts: namespaces `conveyor-host-<pid>-<i>`, each with a
 * veth on a new bridge (in the root namespace) at `10.X.0.(i+2)/24`, the
 * bridge at `10.X.0.1/24`, every link up (loopback too). Removes a crashed
 * run's leftovers first. Dispose removes all of it, killing what still runs
 * in the namespaces.
 */
export async function makeHosts(count: number): Promise<Hosts> {
  requireNetns();
  await removeLeftovers();
  const tag = `${Deno.pid}`;
  const bridge = `${BRIDGE_PREFIX}${tag}`;
  const made: Host[] = [];
  const remove = async () => {
    const errors: unknown[] = [];
    for (const host of made) {
      await killInside(host.netns);
      await ipIfThere(["netns", "delete", host.netns]).catch((e) => errors.push(e));
      // Gone with its namespace's end, unless that never moved there.
      await ipIfThere(["link", "delete", host.link]).catch((e) => errors.push(e));
    }
    await ipIfThere(["link", "delete", bridge]).catch((e) => errors.push(e));
    if (errors.length > 0) throw new AggregateError(errors, "removing the test's hosts failed");
  };
  try {
    await ip(["link", "add", bridge, "type", "bridge"]);
    const x = await claimSubnet(bridge);
    const address = `10.${x}.0.1`;
    await ip(["link", "set", bridge, "up"]);
    for (let i = 0; i < count; i++) {
      const netns = `${NETNS_PREFIX}${tag}-${i}`;
      const link = `${LINK_PREFIX}${tag}x${i}`;
      const peer = `${PEER_PREFIX}${tag}x${i}`;
      const hostAddress = `10.${x}.0.${i + 2}`;
      made.push({
        netns,
        address: hostAddress,
        link,
        cut: () => ip(["link", "set", link, "down"]).then(() => {}),
        heal: () => ip(["link", "set", link, "up"]).then(() => {}),
      });
      await ip(["netns", "add", netns]);
      await ip(["link", "add", link, "type", "veth", "peer", "name", peer, "netns", netns]);
      await ip(["link", "set", link, "master", bridge, "up"]);
      await ip(["-n", netns, "addr", "add", `${hostAddress}/24`, "dev", peer]);
      await ip(["-n", netns, "link", "set", peer, "up"]);
      await ip(["-n", netns, "link", "set", "lo", "up"]);
    }
    return {
      bridge,
      address,
      subnet: `10.${x}.0.0/24`,
      hosts: made,
      [Symbol.asyncDispose]: remove,
    };
  } catch (error) {
    await remove().catch(() => {});
    throw error;
  }
}
