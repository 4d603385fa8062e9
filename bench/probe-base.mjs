// Exact match of the bare builtin:tiny base on each kind of its pre-training examples.
import { Rng } from '@alto/core';
import { exactMatch, loadTransformer, pretrainingExample, TINY_WEIGHTS_FILE } from '@alto/models';
import { initBackend } from '@alto/tfjs';

await initBackend('wasm');
const m = await loadTransformer(TINY_WEIGHTS_FILE);
const rng = new Rng(12345);
const byKind = {};
for (let i = 0; i < 1000; i++) {
  const e = pretrainingExample(rng);
  (byKind[e.prompt.slice(0, 2)] ??= []).push(e);
}
for (const [kind, examples] of Object.entries(byKind)) console.log(kind, examples.length, (100 * exactMatch(m.forward, m.spec.context, examples.slice(0, 100), [])[0]).toFixed(1) + '%');
