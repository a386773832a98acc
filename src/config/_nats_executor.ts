// A map stage's `executor: { nats: { servers, pool, ... } }`: the workers of
// a NATS pool on other machines. The keys are NatsPool.connect's options,
// checked against their descriptions (NATS_POOL_OPTIONS), so a typo gets the
// suggestion it gets in code. `servers` is a URL or a list of them.

import { isScalar, isSeq, type Node } from "yaml";
import { keysOf } from "../_internal/options.ts";
import { NATS_POOL_OPTIONS } from "../nats/options.ts";
import { natsServerProblem } from "./options.ts";
import { describe } from "./_yaml_check.ts";
import type { Checker } from "./_yaml_check.ts";
import type { NatsExecutorSpec } from "./spec.ts";

const SERVERS = "nats://host:port, or a list of them";
const NATS_KEYS = keysOf(NATS_POOL_OPTIONS);

/** `executor: { nats: {...} }` at `at` (e.g. `stages[0].executor`), checked. */
export function parseNatsExecutor(
  c: Checker,
  node: Node | null,
  at: string,
): NatsExecutorSpec | undefined {
  const outer = c.map(node, at, ["nats"]);
  if (outer === undefined) return undefined;
  const entry = outer.get("nats");
  if (entry === undefined) {
    // An unknown key was reported with its suggestion; say what is missing only alone.
    if (outer.size === 0) c.error(node, `${at} is an empty mapping`, "{ nats: { servers, pool } }");
    return undefined;
  }
  const path = `${at}.nats`;
  const m = c.map(entry.value, path, NATS_KEYS, entry.key, NATS_POOL_OPTIONS);
  if (m === undefined) return undefined;
  // Unknown keys were reported with their suggestion.
  let ok = [...outer.keys()].every((key) => key === "nats") &&
    [...m.keys()].every((key) => NATS_KEYS.includes(key));
  const out: Record<string, unknown> = {};
  for (const [key, { value }] of m) {
    if (!NATS_KEYS.includes(key)) continue;
    const v = key === "servers" ? servers(c, value, `${path}.servers`) : c.option<unknown>(
      value,
      `${path}.${key}`,
      NATS_POOL_OPTIONS[key as keyof typeof NATS_POOL_OPTIONS],
    );
    if (v === undefined) ok = false;
    else out[key] = v;
  }
  for (const key of ["servers", "pool"] as const) {
    if (!m.has(key)) {
      const expected = key === "servers" ? `servers: ${SERVERS}` : "pool: the pool's name";
      c.error(entry.key, `${path} has no ${key}`, expected);
      ok = false;
    }
  }
  return ok ? { nats: out as unknown as NatsExecutorSpec["nats"] } : undefined;
}

// `servers`: one address or a non-empty list of them.
function servers(c: Checker, node: Node | null, at: string): string[] | undefined {
  const items = isSeq(node) ? node.items as (Node | null)[] : [node];
  if (isSeq(node) && items.length === 0) return c.error(node, `${at} is an empty list`, SERVERS);
  if (!isSeq(node) && !isScalar(node)) return c.error(node, `${at} is ${describe(node)}`, SERVERS);
  const out: string[] = [];
  for (const item of items) {
    const server = c.string(item, at, SERVERS);
    if (server === undefined) return undefined;
    const problem = natsServerProblem(server);
    if (problem !== undefined) {
      return c.error(item, `${at} has ${JSON.stringify(server)}: ${problem}`, SERVERS);
    }
    out.push(server);
  }
  return out;
}
