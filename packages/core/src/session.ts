import { AdapterBank, AdapterSlot, describeAdapter } from './adapter-bank.js';
import { PluginError } from './errors.js';
import { createSessionHooks, RetireReason, SessionHooks } from './hooks.js';
import { KernelRegistry } from './kernel-registry.js';
import type { Plugin } from './plugin.js';
import type { TrialRecord } from './trial.js';

export interface SessionState {
  step: number;
  plugins: Record<string, unknown>;
}

/**
 * A training session over one frozen base: its hooks, its plugins, its resident adapters and
 * the kernels it may use. Framework packages drive the step; the session keeps the books.
 */
export class Session<T, Kernels extends { [name: string]: unknown } = { [name: string]: unknown }, Kernel = unknown, KernelGrad = unknown> {
  readonly hooks: SessionHooks<Kernel, KernelGrad> = createSessionHooks<Kernel, KernelGrad>();
  readonly bank: AdapterBank<T>;
  readonly kernels: KernelRegistry<Kernels>;
  step = 0;
  /** Every trial of the run, queued, running, paused or finished. */
  readonly trials: TrialRecord[] = [];
  private readonly plugins: { plugin: Plugin<any>; detach: () => void }[] = [];

  constructor(release: (tensor: T) => void, kernels = new KernelRegistry<Kernels>()) {
    this.bank = new AdapterBank<T>(release);
    this.kernels = kernels;
  }

  /** Applies a plugin; returns a function that removes it again. */
  use(plugin: Plugin<this>): () => void {
    if (!plugin || typeof plugin.name !== 'string' || plugin.name.length === 0 || typeof plugin.apply !== 'function') {
      throw new TypeError('a plugin is an object with a non-empty string `name` and an `apply(session)` function');
    }
    if (this.plugins.some((p) => p.plugin.name === plugin.name)) throw new Error(`plugin "${plugin.name}" is already applied`);
    let detach: unknown;
    try {
      detach = plugin.apply(this);
    } catch (e) {
      const pe = new PluginError(plugin.name, 'apply', e);
      this.hooks.error.call(pe);
      throw pe;
    }
    if (typeof detach !== 'function') throw new PluginError(plugin.name, 'apply', new TypeError('apply() must return a function that detaches the plugin'));
    const entry = { plugin, detach: detach as () => void };
    this.plugins.push(entry);
    return () => {
      const i = this.plugins.indexOf(entry);
      if (i < 0) return;
      this.plugins.splice(i, 1);
      entry.detach();
    };
  }

  pluginNames(): string[] {
    return this.plugins.map((p) => p.plugin.name);
  }

  async setup(): Promise<void> {
    await this.hooks.setup.promise();
  }

  /** Runs shutdown taps, then detaches plugins in reverse order of application. */
  async shutdown(): Promise<void> {
    await this.hooks.shutdown.promise();
    for (const { detach } of this.plugins.splice(0).reverse()) detach();
  }

  admit(slot: AdapterSlot<T>): void {
    this.bank.admit(slot);
    this.hooks.adapterAdmitted.call(describeAdapter(slot));
  }

  /** Retires an adapter: its tensors are freed at once, then `adapterRetired` fires. */
  retire(name: string, reason: RetireReason): AdapterSlot<T> {
    const slot = this.bank.retire(name);
    this.hooks.adapterRetired.call(describeAdapter(slot), reason);
    return slot;
  }

  /**
   * Takes an adapter out of the running set with its tensors kept where they are (a pause that
   * moves nothing); `adapterRetired` fires with reason 'paused'. `admit` takes it back.
   */
  park(name: string): AdapterSlot<T> {
    const slot = this.bank.detach(name);
    this.hooks.adapterRetired.call(describeAdapter(slot), 'paused');
    return slot;
  }

  saveState(): SessionState {
    const plugins: Record<string, unknown> = {};
    for (const { plugin } of this.plugins) if (plugin.saveState) plugins[plugin.name] = plugin.saveState();
    return { step: this.step, plugins };
  }

  loadState(state: SessionState): void {
    this.step = state.step;
    for (const { plugin } of this.plugins) {
      if (plugin.loadState && state.plugins[plugin.name] !== undefined) plugin.loadState(state.plugins[plugin.name]);
    }
  }
}

export type { RetireReason };
