// Merges one device run of bench/kernels/device-run.sh (ours + the cuBLAS loop from
// cuda_bench.json, the PyTorch peers from torch_peers.json, all from the same run) into
// result.json and result.md, with the goals of the kernel issue checked.
//   node bench/kernels/report.mjs DIR   (DIR holds the files the run wrote to $OUT)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInfo } from '../env.mjs';

const dir = process.argv[2] ?? new URL('./device', import.meta.url).pathname;
const ours = JSON.parse(readFileSync(join(dir, 'cuda_bench.json'), 'utf8'));
const peers = JSON.parse(readFileSync(join(dir, 'torch_peers.json'), 'utf8'));
const gpu = readFileSync(join(dir, 'gpu.txt'), 'utf8').trim().split('\n').pop();
const check = readFileSync(join(dir, 'check.log'), 'utf8').trim().split('\n').pop();
const memcheck = readFileSync(join(dir, 'memcheck.log'), 'utf8').trim().split('\n').pop();

const key = (r) => `${r.dtype === 'bfloat16' ? 'bf16' : r.dtype === 'float32' ? 'fp32' : r.dtype}/${r.d_model}/${r.adapters}/${r.batch}`;
const peerBy = new Map(peers.results.map((r) => [key(r), r]));
const rows = ours.results.map((r) => {
  const p = peerBy.get(key(r)) ?? {};
  const peerTimes = { 'torch loop': p.loop_ms, 'torch bmm (rank-padded)': p.bmm_ms, 'torch _grouped_mm': p.grouped_ms };
  const best = Object.entries(peerTimes).filter(([, v]) => typeof v === 'number').sort((a, b) => a[1] - b[1])[0];
  const fracCopy = r.ours_gbps / ours.copy_gbps;
  return {
    dtype: r.dtype, d_model: r.d_model, adapters: r.adapters, batch: r.batch, tokens: r.adapters * r.batch * r.seq,
    ours_ms: r.ours_ms, ours_fwd_ms: r.ours_fwd_ms, ours_bwd_ms: r.ours_bwd_ms, cublas_loop_ms: r.cublas_loop_ms,
    torch_loop_ms: p.loop_ms ?? null, torch_bmm_ms: p.bmm_ms ?? null, torch_grouped_ms: p.grouped_ms ?? null,
    speedup_vs_cublas_loop: r.cublas_loop_ms / r.ours_ms,
    best_torch_peer: best ? best[0] : null, speedup_vs_best_torch: best ? best[1] / r.ours_ms : null,
    achieved_gbps_7Td: r.ours_gbps, fraction_of_copy: fracCopy,
    rel_diff_vs_cublas_loop: Math.max(r.rel_diff_y, r.rel_diff_dx, r.rel_diff_da, r.rel_diff_db),
  };
});
const bf16 = rows.filter((r) => r.dtype === 'bf16');
const goals = {
  'bf16: ≥ 3× over the cuBLAS loop at batch 1': bf16.filter((r) => r.batch === 1).map((r) => [r.d_model, r.speedup_vs_cublas_loop >= 3]),
  'bf16: ≥ 1.5× over the cuBLAS loop at batch 4': bf16.filter((r) => r.batch === 4).map((r) => [r.d_model, r.speedup_vs_cublas_loop >= 1.5]),
  'bf16: ≥ 1.2× faster than the best PyTorch peer, every shape': bf16.map((r) => [`${r.d_model}/b${r.batch}`, r.speedup_vs_best_torch >= 1.2]),
  'bf16: ≥ 70% of copy bandwidth (7·T·d bytes)': bf16.map((r) => [`${r.d_model}/b${r.batch}`, r.fraction_of_copy >= 0.7]),
};
const info = runInfo();
const result = {
  date: info.date, commit: info.commit, device: ours.device, gpu_state: gpu, torch: peers.torch,
  copy_gbps: { ours_binary: ours.copy_gbps, torch: peers.copy_gbps },
  correctness: { cuda_check: check, memcheck },
  what: 'forward + backward of one LoRA-targeted projection (shrink, expand into the base output, dS, dX, dA, dB); median ms; eager launches',
  rows, goals,
};
writeFileSync(new URL('./result.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');

const f = (v, d = 3) => (typeof v === 'number' ? v.toFixed(d) : '–');
const lines = [
  `# Grouped-LoRA kernels on ${ours.device}`,
  '',
  `Run ${info.date.slice(0, 10)}, commit ${info.commit.slice(0, 12)}, torch ${peers.torch}. Copy bandwidth measured in the same run: ${ours.copy_gbps.toFixed(0)} GB/s (ours), ${peers.copy_gbps.toFixed(0)} GB/s (torch).`,
  `Correctness in the same run: \`${check}\`; compute-sanitizer memcheck: \`${memcheck}\`.`,
  '',
  'Forward + backward of one LoRA projection, ranks 16/32/64 mixed, sequences of 512 tokens; median ms.',
  '',
  '| dtype | d | adapters | batch | ours | cuBLAS loop | ×loop | torch loop | torch bmm | torch grouped | ×best torch | GB/s (7·T·d) | % copy |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.dtype} | ${r.d_model} | ${r.adapters} | ${r.batch} | ${f(r.ours_ms)} | ${f(r.cublas_loop_ms)} | ${f(r.speedup_vs_cublas_loop, 2)} | ${f(r.torch_loop_ms)} | ${f(r.torch_bmm_ms)} | ${f(r.torch_grouped_ms)} | ${f(r.speedup_vs_best_torch, 2)} | ${r.achieved_gbps_7Td.toFixed(0)} | ${(100 * r.fraction_of_copy).toFixed(1)} |`),
  '',
  '## Goals',
  '',
  ...Object.entries(goals).map(([g, v]) => `- ${g}: ${v.map(([s, ok]) => `${s} ${ok ? 'met' : 'NOT met'}`).join(', ')}`),
  '',
];
writeFileSync(new URL('./result.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
