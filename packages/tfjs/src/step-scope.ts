import * as tf from '@tensorflow/tfjs-core';
import type { AdapterSlot, SegmentPlan } from '@alto/core';
import type { LayerBinding, LoraScope } from './lora-scope.js';
import type { GroupedLoraProvider } from './ops/grouped-lora.js';
import { dropoutMask } from './step-math.js';
import type { TfjsSession } from './trainer-options.js';

/** The grouped-LoRA kernels for a step: what the session's hooks answer (the registry last). */
export function kernelFor(session: TfjsSession, plan: SegmentPlan): GroupedLoraProvider {
  const backend = tf.getBackend();
  const forward = session.hooks.groupedLora.call({ kernelName: 'groupedLora', backend, plan });
  const backward = session.hooks.groupedLoraGrad.call({ kernelName: 'groupedLora', backend, plan });
  if (!forward || !backward) throw new Error(`no grouped-LoRA kernel for backend ${backend}`);
  if (forward === backward) return forward;
  return { forward: forward.forward, backward: backward.backward, ensure: (b) => (forward.ensure(b), backward.ensure(b)) };
}

/** Per layer: the plan restricted to the adapters that target it, and their weights. */
export function scopeFor(plan: SegmentPlan, planned: AdapterSlot<tf.Tensor>[], provider: GroupedLoraProvider, training: boolean): LoraScope {
  const cache = new Map<string, LayerBinding | null>();
  return {
    layer: (name) => {
      if (cache.has(name)) return cache.get(name)!;
      const members = planned.map((s, i) => (s.layers.has(name) ? i : -1)).filter((i) => i >= 0);
      let binding: LayerBinding | null = null;
      if (members.length > 0) {
        const remap = new Int32Array(planned.length).fill(-1);
        members.forEach((m, k) => (remap[m] = k));
        const layerPlan: SegmentPlan = {
          ...plan,
          segmentAdapter: plan.segmentAdapter.map((a) => (a < 0 ? -1 : remap[a])),
          adapters: members.map((m) => plan.adapters[m]),
        };
        const slots = members.map((m) => planned[m]);
        binding = {
          plan: layerPlan, provider,
          A: slots.map((s) => s.layers.get(name)!.A as tf.Tensor2D),
          B: slots.map((s) => s.layers.get(name)!.B as tf.Tensor2D),
          dropoutMask: training ? (rows, dIn, perExample) => dropoutMask(layerPlan, slots, name, rows, dIn, perExample) : undefined,
        };
      }
      cache.set(name, binding);
      return binding;
    },
  };
}
