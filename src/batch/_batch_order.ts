// The keys of each batch a run makes, by batchflow's rules: epochs, a
// shuffle redrawn every epoch, batches that wrap across epochs unless
// dropLast, and nIters.

/** How a run cuts the index into batches. */
export interface Order {
  size: number;
  /** false, or a seed for the shuffle. */
  shuffle: false | number;
  /** How many epochs (Infinity: until nIters, or for ever). */
  epochs: number;
  /** How many batches at most. */
  iters: number;
  dropLast: boolean;
}

/** A small seeded generator of floats in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The batches' keys, one array per batch. */
export function* batchKeys<K>(indices: readonly K[], order: Order): Generator<K[]> {
  const random = order.shuffle === false ? undefined : seeded(order.shuffle);
  const { size } = order;
  let made = 0;
  let carry: K[] = [];
  for (let epoch = 0; epoch < order.epochs; epoch++) {
    const keys = [...indices];
    if (random !== undefined) {
      for (let i = keys.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [keys[i], keys[j]] = [keys[j]!, keys[i]!];
      }
    }
    if (order.dropLast) {
      for (let at = 0; at + size <= keys.length; at += size) {
        if (made++ === order.iters) return;
        yield keys.slice(at, at + size);
      }
      continue;
    }
    const items = carry.length === 0 ? keys : carry.concat(keys);
    let at = 0;
    for (; at + size <= items.length; at += size) {
      if (made++ === order.iters) return;
      yield items.slice(at, at + size);
    }
    carry = items.slice(at);
  }
  if (carry.length > 0 && made < order.iters) yield carry;
}
