"""Timing shared by the PyTorch peers of bench/: the median of one call of fn, in milliseconds,
by CUDA events around each call after `warmup` untimed ones."""
import torch


def median_ms(fn, reps: int = 15, warmup: int = 3) -> float:
    times = []
    for i in range(warmup + reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        if i >= warmup:
            times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]
