import * as tf from '@tensorflow/tfjs-core';
import { AdapterSlot, AdapterWeights, HostTensor } from '@alto/core';

/** A paused adapter: everything it owns, copied to the host, to be restored exactly. */
export interface HostAdapterState {
  slot: Omit<AdapterSlot<tf.Tensor>, 'layers' | 'optimizerState'>;
  layers: [string, { A: HostTensor; B: HostTensor }][];
  optimizerSlots: HostTensor[][];
  optimizerStep: number;
}

const toHost = async (t: tf.Tensor): Promise<HostTensor> => ({ shape: [...t.shape], data: Float32Array.from((await t.data()) as Float32Array) });

export async function saveToHost(slot: AdapterSlot<tf.Tensor>): Promise<HostAdapterState> {
  const { layers, optimizerState, ...rest } = slot;
  return {
    slot: { ...rest },
    layers: await Promise.all([...layers].map(async ([name, { A, B }]) => [name, { A: await toHost(A), B: await toHost(B) }] as [string, { A: HostTensor; B: HostTensor }])),
    optimizerSlots: await Promise.all(optimizerState.slots.map((s) => Promise.all(s.map(toHost)))),
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
