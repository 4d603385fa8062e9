import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveAdapterConfig } from './adapter-config.js';
import { loadAdapterCheckpoint, saveAdapterCheckpoint } from './checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('safetensors', () => {
  it('round-trips float32 tensors with an 8-byte aligned header', () => {
    const bytes = encodeSafetensors({ w: { shape: [2, 3], data: Float32Array.of(1, -2, 3.5, NaN, 1e-30, 7) }, b: { shape: [1], data: Float32Array.of(42) } });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const { tensors } = decodeSafetensors(bytes);
    expect(tensors.w.shape).toEqual([2, 3]);
    expect(Array.from(tensors.w.data)).toEqual(Array.from(Float32Array.of(1, -2, 3.5, NaN, 1e-30, 7)));
    expect(Array.from(tensors.b.data)).toEqual([42]);
  });

  it('rejects a truncated file and a shape that does not fit its data', () => {
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow(/8-byte/);
    expect(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/4 elements/);
  });
});

describe('adapter checkpoints', () => {
  it('write PEFT layout (lora_A r×d_in, lora_B d_out×r) and read back identical weights and config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-ckpt-'));
    dirs.push(dir);
    const config = resolveAdapterConfig({ rank: 2, alpha: 6, learningRate: 3e-4, batchSize: 4, steps: 7, dropout: 0.1, targets: ['*/q'], seed: 9 });
    const A = { shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) }; // d_in 3, r 2
    const B = { shape: [2, 4], data: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8) }; // r 2, d_out 4
    await saveAdapterCheckpoint(dir, { config, weights: { 'block0/q': { A, B } }, meta: { task: 'demo', baseModel: 'tiny' } });
    const peft = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    expect(peft).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 6, lora_dropout: 0.1, target_modules: ['block0/q'], base_model_name_or_path: 'tiny' });
    const { tensors } = decodeSafetensors(new Uint8Array(await readFile(join(dir, 'adapter_model.safetensors'))));
    expect(tensors['base_model.model.block0/q.lora_A.weight'].shape).toEqual([2, 3]);
    expect(Array.from(tensors['base_model.model.block0/q.lora_A.weight'].data)).toEqual([1, 3, 5, 2, 4, 6]);
    expect(tensors['base_model.model.block0/q.lora_B.weight'].shape).toEqual([4, 2]);
    const back = await loadAdapterCheckpoint(dir);
    expect(back.weights['block0/q'].A).toEqual(A);
    expect(back.weights['block0/q'].B).toEqual(B);
    expect(back.config).toEqual(config);
    expect(back.meta.task).toBe('demo');
  });
});
