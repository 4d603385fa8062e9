import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, IssueCollector } from '@alto/core';
import { fromTensors, type DataSource } from '@alto/tfjs';
import { builtinTaskData, BuiltinTask, isEncodable, TextExample, textDataSource, encode } from '@alto/models';
import type { TaskConfig } from './config.js';

export interface LoadedTask {
  name: string;
  train: DataSource;
  valid: DataSource;
  /** Text examples for exact match (built-in model only). */
  validExamples?: readonly TextExample[];
  dispose(): void;
}

async function readJsonl(path: string, field: string): Promise<{ line: number; value: Record<string, unknown> }[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ field, reason: `cannot read ${path}: ${(e as Error).message}` }]);
  }
  const issues = new IssueCollector();
  const rows: { line: number; value: Record<string, unknown> }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const value = JSON.parse(raw);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
      rows.push({ line: i + 1, value });
    } catch (e) {
      issues.add(`${field} (${path}:${i + 1})`, `is not a JSON object: ${(e as Error).message}`);
    }
  });
  if (rows.length === 0 && issues.issues.length === 0) issues.add(field, `${path} has no examples`);
  issues.throwIfAny('data');
  return rows;
}

/** Text examples from JSONL, each line {"prompt": "...", "completion": "..."}, every bad line named. */
async function readTextExamples(path: string, field: string, context: number): Promise<TextExample[]> {
  const issues = new IssueCollector();
  const out: TextExample[] = [];
  for (const { line, value } of await readJsonl(path, field)) {
    const { prompt, completion } = value;
    const at = `${field} (${path}:${line})`;
    if (typeof prompt !== 'string' || typeof completion !== 'string' || completion.length === 0) {
      issues.add(at, 'needs a string "prompt" and a non-empty string "completion"');
      continue;
    }
    if (!isEncodable(prompt + completion)) issues.add(at, 'uses characters outside the built-in vocabulary (lower-case letters, digits, space and + - = : , . > ? < * / !)');
    else if (encode(prompt + completion).length + 1 > context) issues.add(at, `is longer than the model's ${context} positions`);
    else out.push({ prompt, completion });
  }
  issues.throwIfAny('data');
  return out;
}

export async function loadTextTask(task: TaskConfig, context: number, at: string): Promise<LoadedTask> {
  let train: TextExample[];
  let valid: TextExample[];
  if ('builtin' in task.data) {
    ({ train, valid } = builtinTaskData(task.data.builtin as BuiltinTask));
  } else {
    train = await readTextExamples(task.data.train, `${at}.data.train`, context);
    valid = await readTextExamples(task.data.valid, `${at}.data.valid`, context);
  }
  const t = textDataSource(train, context);
  const v = textDataSource(valid, context);
  return { name: task.name, train: t, valid: v, validExamples: valid, dispose: () => (t.dispose(), v.dispose()) };
}

/** Numeric examples for a tfjs model, each line {"x": number[], "y": number[]}. */
export async function loadTensorTask(task: TaskConfig, at: string): Promise<LoadedTask> {
  if ('builtin' in task.data) throw new ConfigError([{ field: `${at}.data`, reason: 'built-in data needs the built-in model' }]);
  const read = async (path: string, field: string) => {
    const rows = await readJsonl(path, field);
    const issues = new IssueCollector();
    const xs: number[][] = [];
    const ys: number[][] = [];
    for (const { line, value } of rows) {
      const ok = (a: unknown) => Array.isArray(a) && a.length > 0 && a.every((v) => typeof v === 'number' && Number.isFinite(v));
      if (!ok(value.x) || !ok(value.y)) issues.add(`${field} (${path}:${line})`, 'needs "x" and "y" as non-empty arrays of finite numbers');
      else if (xs.length > 0 && ((value.x as number[]).length !== xs[0].length || (value.y as number[]).length !== ys[0].length)) issues.add(`${field} (${path}:${line})`, 'has a different length of x or y than the first line');
      else {
        xs.push(value.x as number[]);
        ys.push(value.y as number[]);
      }
    }
    issues.throwIfAny('data');
    const x = tf.tensor2d(xs);
    const y = tf.tensor2d(ys);
    return { source: fromTensors(x, y), dispose: () => tf.dispose([x, y]) };
  };
  const train = await read(task.data.train, `${at}.data.train`);
  const valid = await read(task.data.valid, `${at}.data.valid`);
  return { name: task.name, train: train.source, valid: valid.source, dispose: () => (train.dispose(), valid.dispose()) };
}
