import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdapterConfig } from './adapter-config.js';
import { decodeSafetensors, encodeSafetensors, HostTensor } from './safetensors.js';

/** One adapter's weights on the host: A is d_in×r, B is r×d_out, per target layer. */
export interface AdapterWeights {
  [layer: string]: { A: HostTensor; B: HostTensor };
}

export interface AdapterCheckpoint {
  config: AdapterConfig;
  weights: AdapterWeights;
  /** Free-form provenance: base model, task, trial id, step, losses. */
  meta: Record<string, string | number | null>;
}

export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

/**
 * Writes an adapter the way PEFT does: `adapter_model.safetensors` with
 * `base_model.model.<layer>.lora_A.weight` (r×d_in) and `lora_B.weight` (d_out×r), and an
 * `adapter_config.json` with PEFT's fields; our own fields sit under "alto".
 */
export async function saveAdapterCheckpoint(dir: string, ckpt: AdapterCheckpoint): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors: Record<string, HostTensor> = {};
  for (const [layer, { A, B }] of Object.entries(ckpt.weights)) {
    tensors[`base_model.model.${layer}.lora_A.weight`] = transpose(A);
    tensors[`base_model.model.${layer}.lora_B.weight`] = transpose(B);
  }
  const { config } = ckpt;
  const peft = {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: ckpt.meta.baseModel ?? null,
    r: config.rank,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    target_modules: Object.keys(ckpt.weights),
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    use_rslora: false,
    alto: {
      format: 1,
      config: { ...config, targets: config.targets.map((t) => (t instanceof RegExp ? t.toString() : t)) },
      meta: ckpt.meta,
    },
  };
  await writeFile(join(dir, ADAPTER_WEIGHTS_FILE), encodeSafetensors(tensors, { format: 'pt' }));
  await writeFile(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(peft, null, 2) + '\n');
}

/** Reads an adapter written by `saveAdapterCheckpoint` or by PEFT (LoRA, F32/F16/BF16). */
export async function loadAdapterCheckpoint(dir: string): Promise<AdapterCheckpoint> {
  const peft = JSON.parse(await readFile(join(dir, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, any>;
  if (peft.peft_type !== undefined && peft.peft_type !== 'LORA') throw new Error(`${dir}: peft_type ${peft.peft_type} is not LORA`);
  const { tensors } = decodeSafetensors(new Uint8Array(await readFile(join(dir, ADAPTER_WEIGHTS_FILE))));
  const weights: AdapterWeights = {};
  const re = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$/;
  const partial: Record<string, { A?: HostTensor; B?: HostTensor }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const m = re.exec(name);
    if (!m) continue;
    (partial[m[1]] ??= {})[m[2] as 'A' | 'B'] = transpose(t);
  }
  for (const [layer, { A, B }] of Object.entries(partial)) {
    if (!A || !B) throw new Error(`${dir}: layer ${layer} has lora_${A ? 'A' : 'B'} but not its partner`);
    weights[layer] = { A, B };
  }
  const saved = peft.alto?.config as Partial<AdapterConfig> | undefined;
  const config: AdapterConfig = {
    rank: peft.r,
    alpha: peft.lora_alpha,
    dropout: peft.lora_dropout ?? 0,
    learningRate: saved?.learningRate ?? 0,
    batchSize: saved?.batchSize ?? 1,
    weightDecay: saved?.weightDecay ?? 0,
    targets: (saved?.targets as string[] | undefined) ?? Object.keys(weights),
    seed: saved?.seed ?? 0,
    optimizer: saved?.optimizer ?? { type: 'adamw' },
    ...(saved?.epochs !== undefined ? { epochs: saved.epochs } : { steps: saved?.steps ?? 1 }),
  };
  return { config, weights, meta: peft.alto?.meta ?? {} };
}

function transpose(t: HostTensor): HostTensor {
  if (t.shape.length !== 2) throw new RangeError(`expected a 2-D tensor, got shape [${t.shape}]`);
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}
