import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createLlama, initLlamaWeights, llamaSpec, loadTransformer, readLlamaWeights, TINY_WEIGHTS_FILE, Transformer } from '@alto/models';
import type { LlamaModelConfig } from './config.js';

export type LoadedModel =
  | { kind: 'text'; transformer: Transformer; dispose(): void }
  | { kind: 'layers'; model: tfl.LayersModel; dispose(): void };

/**
 * Loads "builtin:tiny", the built-in Llama-shaped model (weights from safetensors, or random
 * from a seed), or a tfjs model saved with model.save() as model.json + weight files.
 */
export async function loadModel(spec: string | LlamaModelConfig): Promise<LoadedModel> {
  if (typeof spec === 'object') {
    const { builtin: _b, weights, seed, ...dims } = spec;
    const shape = llamaSpec(dims);
    const host = weights ? await readLlamaWeights(weights, shape) : initLlamaWeights(shape, seed ?? 0);
    const transformer = createLlama(shape, host);
    return { kind: 'text', transformer, dispose: () => transformer.dispose() };
  }
  if (spec === 'builtin:tiny') {
    const transformer = await loadTransformer(TINY_WEIGHTS_FILE);
    return { kind: 'text', transformer, dispose: () => transformer.dispose() };
  }
  const path = spec.endsWith('.json') ? spec : join(spec, 'model.json');
  const model = await tfl.loadLayersModel(fileHandler(path));
  return { kind: 'layers', model, dispose: () => model.dispose() };
}

/** A tf.io handler that reads model.json and its weight shards from the file system. */
function fileHandler(path: string): tf.io.IOHandler {
  return {
    load: async () => {
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(await readFile(path, 'utf8'));
      } catch (e) {
        throw new Error(`cannot read the tfjs model ${path}: ${(e as Error).message}`);
      }
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const buffers = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(path), p))));
      const total = buffers.reduce((n, b) => n + b.byteLength, 0);
      const data = new Uint8Array(total);
      let offset = 0;
      for (const b of buffers) {
        data.set(b, offset);
        offset += b.byteLength;
      }
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy };
    },
  };
}
