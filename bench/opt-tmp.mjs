import { Rng } from '@alto/core';
import { milpPlacement } from '@alto/scheduler';
for (const seed of [5, 1]) {
const tasks=11, devices=8;
const rng = new Rng(seed * 7919 + tasks);
const size = () => { const u = rng.uniform(0, 1); return u < 0.5 ? 1 : u < 0.83 ? 2 : 4; };
const input = { devices: Array.from({ length: devices }, (_, i) => `gpu${i}`), running: [], queued: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, size: size(), duration: 600 * Math.exp(rng.uniform(0, Math.log(10))) })) };
const plan = await milpPlacement(input, { timeLimit: 60 });
console.log(seed, plan.method, (plan.makespan/plan.lowerBound).toFixed(4), 'proven', (plan.provenBound/plan.lowerBound).toFixed(4), plan.optimal, Math.round(plan.solveMs), input.queued.map(q=>q.size+':'+Math.round(q.duration)).join(' '));
}
