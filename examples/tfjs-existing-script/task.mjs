// Two small tasks on points of the plane. Task A: which quarter of the circle a point lies
// in. Task B, the one to adapt to: the same quarters turned by 30°, and the outer ring's
// labels shifted by one. A model trained on A has to change a little, not start over.
import * as tf from '@tensorflow/tfjs-core';

function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CLASSES = 4;

function labelA(x, y) {
  const angle = Math.atan2(y, x) + Math.PI; // 0 … 2π
  return Math.min(CLASSES - 1, Math.floor((angle / (2 * Math.PI)) * CLASSES));
}

function labelB(x, y) {
  const turn = Math.PI / 6;
  const [u, v] = [x * Math.cos(turn) - y * Math.sin(turn), x * Math.sin(turn) + y * Math.cos(turn)];
  const quarter = labelA(u, v);
  return Math.hypot(x, y) > 0.7 ? (quarter + 1) % CLASSES : quarter;
}

export function makeData(task, n, seed) {
  const rnd = random(seed);
  const xs = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x = rnd() * 2 - 1;
    const y = rnd() * 2 - 1;
    xs[2 * i] = x;
    xs[2 * i + 1] = y;
    labels[i] = task === 'A' ? labelA(x, y) : labelB(x, y);
  }
  return tf.tidy(() => ({ x: tf.tensor2d(xs, [n, 2]), y: tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES), 'float32') }));
}

export function accuracy(logits, y) {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0]);
}
