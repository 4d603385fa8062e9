import { Rng } from '@alto/core';
import type { TextExample } from './examples.js';

/**
 * The bundled tasks of `builtin:tiny`, each of a different kind, all scored by exact match:
 *   add        arithmetic:      "a:17+5=" → "22"           (the base knows sums in another format)
 *   reverse    string transform: "v:kqd=" → "dqk"           (the base reverses in another format)
 *   sentiment  classification:  "good cold fun=" → "pos"   (the base knows single words' polarity)
 * Every generator is deterministic in its seed.
 */
export const BUILTIN_TASKS = ['add', 'reverse', 'sentiment'] as const;
export type BuiltinTask = (typeof BUILTIN_TASKS)[number];

const POSITIVE = ['good', 'fun', 'nice', 'kind', 'warm', 'calm', 'glad', 'cool', 'fine', 'safe'];
const NEGATIVE = ['bad', 'sad', 'cold', 'mean', 'dull', 'grim', 'sour', 'weak', 'ugly', 'lost'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

const word = (rng: Rng, min: number, max: number) => Array.from({ length: min + rng.int(max - min + 1) }, () => LETTERS[rng.int(26)]).join('');

function taskExample(task: BuiltinTask, rng: Rng): TextExample {
  switch (task) {
    case 'add': {
      const a = rng.int(20);
      const b = rng.int(20);
      return { prompt: `a:${a}+${b}=`, completion: String(a + b) };
    }
    case 'reverse': {
      const w = word(rng, 3, 5);
      return { prompt: `v:${w}=`, completion: [...w].reverse().join('') };
    }
    case 'sentiment': {
      const words = Array.from({ length: 3 }, () => (rng.next() < 0.5 ? POSITIVE : NEGATIVE)[rng.int(10)]);
      const score = words.reduce((s, w) => s + (POSITIVE.includes(w) ? 1 : -1), 0);
      return { prompt: `${words.join(' ')}=`, completion: score > 0 ? 'pos' : 'neg' };
    }
  }
}

/**
 * Train and validation splits; validation examples never occur in the training split (for
 * `add`, whose prompts are few, the split is by prompt).
 */
export function builtinTaskData(task: BuiltinTask, sizes = { train: 2000, valid: 200 }, seed = 7): { train: TextExample[]; valid: TextExample[] } {
  if (!BUILTIN_TASKS.includes(task)) throw new RangeError(`unknown built-in task "${task}" (${BUILTIN_TASKS.join(', ')})`);
  const rng = new Rng(seed * 7919 + BUILTIN_TASKS.indexOf(task));
  const valid: TextExample[] = [];
  const validPrompts = new Set<string>();
  while (valid.length < sizes.valid) {
    const e = taskExample(task, rng);
    if (validPrompts.has(e.prompt)) continue;
    validPrompts.add(e.prompt);
    valid.push(e);
  }
  const train: TextExample[] = [];
  for (let tries = 0; train.length < sizes.train && tries < sizes.train * 50; tries++) {
    const e = taskExample(task, rng);
    if (!validPrompts.has(e.prompt)) train.push(e);
  }
  return { train, valid };
}

/**
 * The pre-training mixture of the base model: sums written as "s 17 5>22", copying
 * "c:kqd>kqd", reversing "r kqd>dqk", single-word polarity "w good>+", successors "n:41=42".
 * The bundled tasks ask for the same skills in other formats (and sentiment composes three
 * words), so each is a real adaptation that LoRA can learn in a few hundred steps.
 */
export function pretrainingExample(rng: Rng): TextExample {
  switch (rng.int(5)) {
    case 0: {
      const a = rng.int(20);
      const b = rng.int(20);
      return { prompt: `s ${a} ${b}>`, completion: String(a + b) };
    }
    case 1: {
      const w = word(rng, 1, 6);
      return { prompt: `c:${w}>`, completion: w };
    }
    case 2: {
      const w = word(rng, 2, 6);
      return { prompt: `r ${w}>`, completion: [...w].reverse().join('') };
    }
    case 3: {
      const positive = rng.next() < 0.5;
      return { prompt: `w ${(positive ? POSITIVE : NEGATIVE)[rng.int(10)]}>`, completion: positive ? '+' : '-' };
    }
    default: {
      const n = rng.int(99);
      return { prompt: `n:${n}=`, completion: String(n + 1) };
    }
  }
}
