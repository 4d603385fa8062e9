/**
 * Pre-trains the base weights of `builtin:tiny` on its pre-training mixture and writes them
 * to packages/models/weights/tiny.safetensors (or --out FILE). About a minute on two cores.
 *   node packages/models/dist/pretrain.js [--steps N] [--out FILE] [--seed S]
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { HostTensor, Rng } from '@alto/core';
import { initBackend } from '@alto/tfjs';
import { completionLoss, encodeExamples, TextExample } from './examples.js';
import { exactMatch } from './decode.js';
import { pretrainingExample } from './tasks.js';
import { createTransformer, initWeights, saveTransformer, TINY_SPEC, TINY_WEIGHTS_FILE } from './tiny-transformer.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '3000' }, out: { type: 'string', default: TINY_WEIGHTS_FILE }, seed: { type: 'string', default: '0' }, batch: { type: 'string', default: '64' } } });
const steps = Number(values.steps);
const batch = Number(values.batch);
const seed = Number(values.seed);

await initBackend();
const spec = TINY_SPEC;
const model = createTransformer(spec, initWeights(spec, seed));
for (const [k, t] of Object.entries(model.weights)) {
  model.weights[k] = tf.variable(t, true, `pretrain/${k}`);
  t.dispose();
}
const rng = new Rng(seed + 1);
const optimizer = tf.train.adam(3e-3);
const started = performance.now();
for (let step = 1; step <= steps; step++) {
  const examples: TextExample[] = Array.from({ length: batch }, () => pretrainingExample(rng));
  const { x, y } = encodeExamples(examples, spec.context);
  // cosine decay to 10 %
  (optimizer as unknown as { learningRate: number }).learningRate = 3e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * step) / steps)));
  const loss = tf.tidy(() => {
    const xt = tf.tensor2d(x, [batch, spec.context], 'int32');
    const yt = tf.tensor3d(y, [batch, 2, spec.context]);
    return optimizer.minimize(() => tf.mean(completionLoss(yt, model.forward(xt))) as tf.Scalar, true)!;
  });
  if (step % 250 === 0 || step === steps) console.log(`step ${step}/${steps}  loss ${(await loss.data())[0].toFixed(4)}  ${((performance.now() - started) / 1000).toFixed(0)} s`);
  loss.dispose();
}
const check = Array.from({ length: 200 }, () => pretrainingExample(new Rng(rng.int(1e9))));
console.log(`exact match on fresh pre-training examples: ${(100 * exactMatch(model.forward, spec.context, check, [])[0]).toFixed(1)}%`);
const host: Record<string, HostTensor> = {};
for (const [k, t] of Object.entries(model.weights)) host[k] = { shape: [...t.shape], data: Float32Array.from(await t.data() as Float32Array) };
await saveTransformer(values.out!, spec, host, { trained_steps: String(steps), seed: String(seed) });
console.log(`wrote ${values.out}`);
