import * as tf from '@tensorflow/tfjs-core';
import { AdapterBank, AdapterInfo, AdapterSlot, AdapterWeights, describeAdapter } from '@alto/core';
import { captureWeights } from './adapter-weights.js';
import { HostAdapterState, hostWeights, restoreFromHost, saveToHost } from './host-state.js';

/** Where a paused adapter waits: its tensors left on the device, or copied to the host. */
export type PauseTo = 'device' | 'host';

type Paused = { slot: AdapterSlot<tf.Tensor>; host?: undefined } | { slot?: undefined; host: HostAdapterState };

/**
 * Adapters that trained and wait to be admitted again (e.g. for the end of an early-exit
 * screening). Parked on the device, a pause and its resumption cost nothing: no read of the
 * state (which waits for the queued steps) and no upload back. Short of device memory, the
 * parked ones are moved to the host (`evictToHost`), and resume from there.
 */
/** Bytes an adapter's weights and optimizer state take (float32). */
export function slotBytes(slot: AdapterSlot<tf.Tensor>): number {
  let bytes = 0;
  for (const { A, B } of slot.layers.values()) bytes += 4 * (A.size + B.size);
  for (const t of slot.optimizerState.slots.flat()) bytes += 4 * t.size;
  return bytes;
}

export class PausedAdapters {
  private readonly paused = new Map<string, Paused>();

  constructor(private readonly bank: AdapterBank<tf.Tensor>) {}

  get size(): number {
    return this.paused.size;
  }

  /** Adapters parked on the device, whose memory `evictToHost` would free. */
  get onDevice(): number {
    let n = 0;
    for (const p of this.paused.values()) if (p.slot) n++;
    return n;
  }

  /** Bytes the adapters parked on the device hold (weights and optimizer state). */
  deviceBytes(): number {
    let bytes = 0;
    for (const p of this.paused.values()) if (p.slot) bytes += slotBytes(p.slot);
    return bytes;
  }

  has(name: string): boolean {
    return this.paused.has(name);
  }

  infos(): AdapterInfo[] {
    return [...this.paused.values()].map((p) => describeAdapter(p.slot ?? p.host.slot));
  }

  /** Keeps a slot that has left the running set (its tensors still allocated), at `to`. */
  async add(slot: AdapterSlot<tf.Tensor>, to: PauseTo): Promise<void> {
    if (this.paused.has(slot.name)) throw new Error(`adapter "${slot.name}" is already paused`);
    if (to === 'device') {
      this.paused.set(slot.name, { slot });
      return;
    }
    await this.moveToHost(slot);
  }

  /** The slot to admit again (restored from the host where it waited there). */
  take(name: string): AdapterSlot<tf.Tensor> {
    const p = this.required(name);
    this.paused.delete(name);
    return p.slot ?? restoreFromHost(p.host);
  }

  /** Forgets a paused adapter and frees what it holds; its weights, when asked for. */
  async drop(name: string, keepWeights: boolean): Promise<AdapterWeights | undefined> {
    const p = this.required(name);
    this.paused.delete(name);
    if (!p.slot) return keepWeights ? hostWeights(p.host) : undefined;
    try {
      return keepWeights ? await captureWeights(p.slot) : undefined;
    } finally {
      this.bank.free(p.slot);
    }
  }

  /** Moves every adapter parked on the device to the host; returns how many moved. */
  async evictToHost(): Promise<number> {
    let moved = 0;
    for (const p of [...this.paused.values()]) {
      if (!p.slot) continue;
      await this.moveToHost(p.slot);
      moved++;
    }
    return moved;
  }

  /** The state to the host, then the device copy freed; a failed read leaves it parked on the device. */
  private async moveToHost(slot: AdapterSlot<tf.Tensor>): Promise<void> {
    let host: HostAdapterState;
    try {
      host = await saveToHost(slot);
    } catch (e) {
      this.paused.set(slot.name, { slot });
      throw e;
    }
    this.paused.set(slot.name, { host });
    this.bank.free(slot);
  }

  /** Frees every device-parked adapter (the run is over or failed). */
  dispose(): void {
    for (const p of this.paused.values()) if (p.slot) this.bank.free(p.slot);
    this.paused.clear();
  }

  private required(name: string): Paused {
    const p = this.paused.get(name);
    if (!p) throw new Error(`adapter "${name}" is not paused`);
    return p;
  }
}
