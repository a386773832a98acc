// Kernels for examples/images.yaml, the image pipeline as a YAML spec: the
// demo's decode and resize, plus reading a file and summing up a batch.

import { type Transfer, transfer } from "../../mod.ts";
import { decode, resizeNormalize } from "./kernels.ts";

export { decode, resizeNormalize };

/** A file's bytes, moved to the caller without a copy. */
export async function readBytes(path: string): Promise<Transfer<Uint8Array>> {
  return transfer(await Deno.readFile(path));
}

/** Stands in for a training step: the batch's size and the mean of its tensors. */
export function trainStep(batch: Float32Array[]): { images: number; mean: number } {
  let sum = 0, count = 0;
  for (const tensor of batch) {
    for (let i = 0; i < tensor.length; i++) sum += tensor[i]!;
    count += tensor.length;
  }
  return { images: batch.length, mean: count === 0 ? 0 : sum / count };
}
