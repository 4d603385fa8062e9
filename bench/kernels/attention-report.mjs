// Files one run of bench/kernels/device-attention.sh (the engine's fused causal attention and
// PyTorch's, same run) as attention-result.json and attention-result.md beside this script.
//   ALTO_RUN_COMMIT=<sha> node bench/kernels/attention-report.mjs DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInfo } from '../env.mjs';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node bench/kernels/attention-report.mjs DIR');
const ours = JSON.parse(readFileSync(join(dir, 'attention_bench.json'), 'utf8'));
const peers = JSON.parse(readFileSync(join(dir, 'attention_peers.json'), 'utf8'));
const gpu = readFileSync(join(dir, 'gpu.txt'), 'utf8').trim().split('\n').pop();
const info = runInfo();

// Ours with TF32 products (what the tfjs backend runs) against torch fp32 and bf16 at each batch.
const rows = ours.results.map((r) => {
  const peer = (dtype) => peers.results.find((p) => p.batch === r.batch && p.dtype === dtype);
  const fp32 = peer('fp32'), bf16 = peer('bf16');
  return {
    ...r,
    torch_fp32_fwd_bwd_ms: fp32?.fwd_bwd_ms ?? null,
    torch_bf16_fwd_bwd_ms: bf16?.fwd_bwd_ms ?? null,
    vs_torch_fp32: fp32 ? fp32.fwd_bwd_ms / r.fwd_bwd_ms : null,
    vs_torch_bf16: bf16 ? bf16.fwd_bwd_ms / r.fwd_bwd_ms : null,
  };
});
const result = { date: info.date, commit: info.commit, device: ours.device, gpu_state: gpu, torch: peers.torch, check: ours.check, rows, peers: peers.results };
writeFileSync(new URL('./attention-result.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');

const f = (v, d = 3) => (typeof v === 'number' ? v.toFixed(d) : '–');
const md = [
  `# Fused causal attention on ${ours.device}`,
  '',
  `Run ${info.date.slice(0, 10)}, commit ${info.commit.slice(0, 12)}, torch ${peers.torch}. 32 query heads on 8 key/value heads, head dim 64, 512 tokens (the end-to-end sweep's Llama).`,
  `Check against float64 before timing (largest error over the largest value): ${Object.entries(ours.check).map(([k, c]) => `${k} o ${c.o.toExponential(1)}, dq ${c.dq.toExponential(1)}, dk ${c.dk.toExponential(1)}, dv ${c.dv.toExponential(1)}`).join('; ')}.`,
  '',
  'Median ms; TFLOP/s by the causal count (forward 2·B·H·T²·dh, backward 2.5× that). torch: scaled_dot_product_attention (causal) with the key/value heads repeated, forward + backward.',
  '',
  '| sequences | ours products | fwd | bwd | fwd + bwd | fwd TFLOP/s | bwd TFLOP/s | torch fp32 fwd + bwd | × | torch bf16 fwd + bwd | × |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.batch} | ${r.products} | ${f(r.fwd_ms)} | ${f(r.bwd_ms)} | ${f(r.fwd_bwd_ms)} | ${f(r.fwd_tflops, 1)} | ${f(r.bwd_tflops, 1)} | ${f(r.torch_fp32_fwd_bwd_ms)} | ${f(r.vs_torch_fp32, 2)} | ${f(r.torch_bf16_fwd_bwd_ms)} | ${f(r.vs_torch_bf16, 2)} |`),
  '',
];
writeFileSync(new URL('./attention-result.md', import.meta.url), md.join('\n'));
console.log(md.join('\n'));
