#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '@alto/core';
import { BackendUnavailableError, KNOWN_BACKENDS } from '@alto/tfjs';
import { DEFAULT_CONFIG, readConfigFile } from './config.js';
import { runTune } from './run.js';
import { runSchedulerCommand, SCHEDULER_USAGE, UsageError } from './scheduler-commands.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const USAGE = `usage: alto tune [--config FILE] [--out DIR] [--backend NAME] [--no-early-exit] [--sequential] [--save-all]
                 [--profile-step N]

  --config FILE     JSON or YAML tuning configuration; without it the embedded default runs
                    (the built-in tiny transformer, tasks add, reverse and sentiment, 24 configurations each)
  --out DIR         output directory (default: out/alto-tune)
  --backend NAME    tfjs backend: wasm (default), cpu, alto-cuda (ALTO's CUDA backend; an NVIDIA GPU),
                    or tensorflow (needs @tensorflow/tfjs-node)
  --no-early-exit   train every configuration to the end, batched
  --sequential      one configuration at a time, no batching, no early exit (the same per-trial math)
  --save-all        save every trial's adapter, not only each task's best
  --profile-step N  time every kernel of executor step N (1 = the first) into kernel-profile.json
                    (the step waits for each kernel, so it runs slower than the others)

${SCHEDULER_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    console.log(VERSION);
    return 0;
  }
  if (['scheduler', 'worker', 'submit', 'status', 'cancel'].includes(command)) {
    try {
      return await runSchedulerCommand(command, rest);
    } catch (e) {
      const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
      console.error(`alto ${command}: ${(e as Error).message}${usage ? `\n${SCHEDULER_USAGE}` : ''}`);
      return 2;
    }
  }
  if (command !== 'tune') {
    console.error(`alto: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string' }, out: { type: 'string', default: 'out/alto-tune' }, backend: { type: 'string' },
        'no-early-exit': { type: 'boolean', default: false }, sequential: { type: 'boolean', default: false }, 'save-all': { type: 'boolean', default: false },
        'profile-step': { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`alto tune: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const profileStep = values['profile-step'] === undefined ? 0 : Number(values['profile-step']);
    if (!(Number.isInteger(profileStep) && profileStep >= 0)) throw new ConfigError([{ field: '--profile-step', reason: `must be a step number (1 = the first), got "${values['profile-step']}"` }]);
    const config = values.config ? await readConfigFile(values.config) : DEFAULT_CONFIG;
    if (values.backend !== undefined && !(KNOWN_BACKENDS as readonly string[]).includes(values.backend)) {
      throw new ConfigError([{ field: '--backend', reason: `must be one of ${KNOWN_BACKENDS.join(', ')}, got "${values.backend}"` }]);
    }
    const summary = await runTune(config, {
      out: values.out!, backend: values.backend, earlyExit: !values['no-early-exit'], sequential: values.sequential!, saveAll: values['save-all']!, profileStep,
      stream: process.stdout, version: VERSION,
    });
    console.log(`\n${summary.mode} run on ${summary.backend}: ${summary.wallSeconds.toFixed(1)} s, ${summary.samplesTrained.toLocaleString('en')} of ${summary.samplesBudget.toLocaleString('en')} samples trained`);
    for (const t of summary.tasks) {
      const b = t.best;
      console.log(`  ${t.name.padEnd(12)} best ${b ? `${b.trial}  lr ${b.config.learningRate}  rank ${b.config.rank}  batch ${b.config.batchSize}  val loss ${b.valLoss?.toFixed(4)}  ${t.metric === 'exact_match' && b.metricValue !== null ? `exact match ${(100 * b.metricValue).toFixed(1)}%` : ''}` : 'none'}`);
    }
    console.log(`wrote ${values.out}/summary.json, ${values.out}/report.html and the best adapters under ${values.out}/adapters/`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`alto tune: ${e.message}`);
      return 2;
    }
    if (e instanceof BackendUnavailableError) {
      console.error(`alto tune: ${e.message}`);
      return 1;
    }
    console.error(`alto tune: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
// An executor started by `alto worker` has an IPC channel open; let the process end.
if (process.connected) process.disconnect();
