/**
 * The first demo: a real file through several concurrent stages into
 * another file.
 *
 * It writes a generated CSV of orders to a temporary folder, then reads it
 * back through `Deno.open(...).readable`, splits it into lines, parses and
 * validates each record, looks customers up in batches of 500 from a
 * simulated remote service (2 ms per round trip, 8 requests in flight),
 * signs every order with a hash, and writes them as JSON lines into a second
 * file's `writable`. It prints items/s and each stage's counters.
 *
 * Run it with `deno task demo` (or `npx -y deno@2 task demo`).
 *
 * @module
 */

import { batch, filter, lines, map, source, type StageStream, unbatch } from "../mod.ts";

const ROWS = Number(Deno.env.get("DEMO_ROWS") ?? 200_000);

interface Order {
  id: number;
  customer: string;
  amount: number;
}

function* orders(count: number): Generator<string> {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  yield "id,customer,amount";
  for (let id = 0; id < count; id++) {
    // About one row in fifty is broken, as real exports are.
    const amount = next() < 0.02 ? "n/a" : (next() * 1000).toFixed(2);
    yield `${id},customer-${Math.floor(next() * 5000)},${amount}`;
  }
}

function parse(line: string): Order | undefined {
  const [id, customer, amount] = line.split(",");
  const value = Number(amount);
  if (id === "id" || customer === undefined || !Number.isFinite(value)) return undefined;
  return { id: Number(id), customer, amount: value };
}

interface Customer {
  name: string;
  tier: "gold" | "silver" | "bronze";
}

// A stand-in for a remote customer service: one round trip per batch.
async function lookup(orders: Order[]): Promise<(Order & Customer)[]> {
  await new Promise((resolve) => setTimeout(resolve, 2));
  return orders.map((o) => {
    const n = Number(o.customer.slice(9));
    return {
      ...o,
      name: `Customer ${n}`,
      tier: n % 10 === 0 ? "gold" : n % 3 === 0 ? "silver" : "bronze",
    };
  });
}

// Two 32-bit FNV-1a hashes of the record's JSON, as 16 hex digits.
function sign<T extends object>(record: T): T & { signature: string } {
  const text = JSON.stringify(record);
  let a = 0x811c9dc5, b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x811c9dc5);
  }
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  return { ...record, signature: hex(a) + hex(b) };
}

const dir = await Deno.makeTempDir({ prefix: "conveyor-demo-" });
try {
  const input = `${dir}/orders.csv`;
  const output = `${dir}/signed.jsonl`;

  // 1. Write the input file, through conveyor too.
  {
    using file = await Deno.open(input, { write: true, create: true, truncate: true });
    await source(orders(ROWS))
      .pipeThrough(batch<string>(1000))
      .pipeThrough(map((rows: string[]) => rows.join("\n") + "\n"))
      .pipeThrough(new TextEncoderStream())
      .pipeTo(file.writable);
  }
  const size = (await Deno.stat(input)).size;
  console.log(
    `wrote ${ROWS.toLocaleString("en")} rows (${(size / 2 ** 20).toFixed(1)} MiB) to ${input}`,
  );

  // 2. Read it back through concurrent stages into another file.
  const stages: StageStream<never, unknown>[] = [];
  const track = <I, O>(stage: StageStream<I, O>): StageStream<I, O> => {
    stages.push(stage as unknown as StageStream<never, unknown>);
    return stage;
  };
  const started = performance.now();
  {
    using inFile = await Deno.open(input);
    using outFile = await Deno.open(output, { write: true, create: true, truncate: true });
    await inFile.readable
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(track(lines()))
      .pipeThrough(track(map(parse, { name: "parse" })))
      .pipeThrough(
        track(filter((o: Order | undefined): o is Order => o !== undefined, { name: "valid" })),
      )
      .pipeThrough(track(batch<Order>(500)))
      .pipeThrough(track(map(lookup, { name: "lookup", concurrency: 8 })))
      .pipeThrough(track(unbatch<Order & Customer>()))
      .pipeThrough(track(map(sign, { name: "sign" })))
      .pipeThrough(track(map((r: object) => JSON.stringify(r), { name: "format" })))
      // One write per 1,000 lines, not per line.
      .pipeThrough(batch<string>(1000))
      .pipeThrough(map((rows: string[]) => rows.join("\n") + "\n"))
      .pipeThrough(new TextEncoderStream())
      .pipeTo(outFile.writable);
  }
  const seconds = (performance.now() - started) / 1000;

  const signed = stages.find((s) => s.name === "format")!.stats().itemsOut;
  console.log(
    `processed ${ROWS.toLocaleString("en")} lines in ${seconds.toFixed(2)} s: ` +
      `${Math.round(ROWS / seconds).toLocaleString("en")} items/s, ` +
      `${signed.toLocaleString("en")} signed orders written to ${output}`,
  );
  console.log("\nstage     items in  items out  failures");
  for (const stage of stages) {
    const s = stage.stats();
    console.log(
      `${s.name.padEnd(8)} ${String(s.itemsIn).padStart(9)} ${String(s.itemsOut).padStart(10)} ${
        String(s.failures).padStart(9)
      }`,
    );
  }
  const first = (await Deno.readTextFile(output)).slice(0, 200).split("\n")[0];
  console.log(`\nfirst output line: ${first}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
