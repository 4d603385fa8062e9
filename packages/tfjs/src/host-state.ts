import * as tf from '@tensorflow/tfjs-core';
import { AdapterSlot, AdapterWeights, HostTensor } from '@alto/core';
import { isOutOfMemory } from './out-of-memory.js';
import { flattenTensors } from './kernels/copy-many-cuda.js';

/** A paused adapter: everything it owns, copied to the host, to be restored exactly. */
export interface HostAdapterState {
  slot: Omit<AdapterSlot<tf.Tensor>, 'layers' | 'optimizerState'>;
  layers: [string, { A: HostTensor; B: HostTensor }][];
  optimizerSlots: HostTensor[][];
  optimizerStep: number;
}

let readsInTurn: Promise<void> = Promise.resolve();

const toHost = async (t: tf.Tensor): Promise<HostTensor> => ({ shape: [...t.shape], data: Float32Array.from((await t.data()) as Float32Array) });

/**
 * float32 tensors on the host in one read: flattened into one tensor on the device first (a
 * read per tensor waits on the device each time, and an adapter on seven projections of 16
 * layers has 224 weight tensors and twice as many optimizer slots). Short of device memory
 * for the flat copy, tensor by tensor.
 *
 * `inTurn`: for reads nobody waits on until later (a finished trial's weights). They start one
 * after another, each once the one before has ended: a device read is a worker task, queued
 * behind every read begun before it, and the losses a step waits for must not queue behind
 * the weights of every adapter a cut retired. The values are those of the call (the flat copy
 * is taken at once, in stream order); the copy is held until the read's turn.
 */
export async function readAll(tensors: readonly tf.Tensor[], options: { inTurn?: boolean } = {}): Promise<HostTensor[]> {
  if (tensors.length === 0) return [];
  let flat: tf.Tensor;
  try {
    flat = flattenTensors(tensors);
  } catch (e) {
    if (!isOutOfMemory(e)) throw e;
    return Promise.all(tensors.map(toHost));
  }
  // The read has its values once begun (an asynchronous read copies them on the device first),
  // so the flat copy is freed before they arrive. (A concat of one tensor may share its data,
  // which may change before a later turn: that one is read at once.)
  const begin = () => {
    try {
      return flat.data() as Promise<Float32Array>;
    } finally {
      flat.dispose();
    }
  };
  let reading: Promise<Float32Array>;
  if (options.inTurn && tensors.length > 1) {
    tf.keep(flat); // not freed with the caller's scope before its turn
    reading = readsInTurn.then(begin);
    readsInTurn = reading.then(
      () => undefined,
      () => undefined,
    );
  } else reading = begin();
  const data = await reading;
  // Views of the one read, not copies (they keep its buffer alive together, as they are used);
  // a concat of one tensor may share that tensor's data, so a single one is copied.
  let at = 0;
  return tensors.map((t) => {
    const values = tensors.length > 1 ? data.subarray(at, at + t.size) : data.slice(at, at + t.size);
    at += t.size;
    return { shape: [...t.shape], data: values };
  });
}

export async function saveToHost(slot: AdapterSlot<tf.Tensor>): Promise<HostAdapterState> {
  const { layers, optimizerState, ...rest } = slot;
  const entries = [...layers];
  const host = await readAll([...entries.flatMap(([, { A, B }]) => [A, B]), ...optimizerState.slots.flat()]);
  let i = 0;
  return {
    slot: { ...rest },
    layers: entries.map(([name]) => [name, { A: host[i++], B: host[i++] }]),
    optimizerSlots: optimizerState.slots.map((s) => s.map(() => host[i++])),
    optimizerStep: optimizerState.step,
  };
}

let restored = 0;

export function restoreFromHost(state: HostAdapterState): AdapterSlot<tf.Tensor> {
  const variable = (h: HostTensor, trainable: boolean, name: string) => {
    const t = tf.tensor(h.data, h.shape);
    const v = tf.variable(t, trainable, `${name}#r${++restored}`);
    t.dispose();
    return v;
  };
  return {
    ...state.slot,
    layers: new Map(state.layers.map(([layer, { A, B }]) => [layer, { A: variable(A, true, `alto/${state.slot.name}/${layer}/A`), B: variable(B, true, `alto/${state.slot.name}/${layer}/B`) }])),
    optimizerState: { slots: state.optimizerSlots.map((s, i) => s.map((h, j) => variable(h, false, `alto/${state.slot.name}/opt${i}.${j}`))), step: state.optimizerStep },
  };
}

export function hostWeights(state: HostAdapterState): AdapterWeights {
  return Object.fromEntries(state.layers);
}
