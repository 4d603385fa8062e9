"""PyTorch's causal attention at the shapes of kernels/bench/attention_bench.cu, in the same
device run: scaled_dot_product_attention (causal) on [batch, heads, seq, head_dim], the key and
value heads repeated to the query heads first as transformers' Llama does (repeat_kv), in fp32
(PyTorch's memory-efficient kernel) and in bf16 (its flash kernel). Forward and forward +
backward, CUDA events after warm-up, medians.
usage: python attention_peers.py OUT.json
"""
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cuda_events import median_ms  # noqa: E402


def attention(q, k, v, group):
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "attention_peers.json"
    heads, kv_heads, seq, dh = 32, 8, 512, 64
    results = []
    for batch in (8, 64):
        for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
            g = torch.Generator(device="cuda").manual_seed(batch)
            make = lambda h: (torch.rand(batch, h, seq, dh, device="cuda", generator=g, dtype=torch.float32) * 2 - 1).to(dtype)
            q, k, v = make(heads).requires_grad_(), make(kv_heads).requires_grad_(), make(kv_heads).requires_grad_()
            dO = make(heads)

            def forward():
                with torch.no_grad():
                    attention(q, k, v, heads // kv_heads)

            def forward_backward():
                o = attention(q, k, v, heads // kv_heads)
                torch.autograd.grad(o, (q, k, v), dO)

            fwd, both = median_ms(forward), median_ms(forward_backward)
            flops = 2.0 * batch * heads * seq * seq * dh
            row = {"batch": batch, "heads": heads, "kv_heads": kv_heads, "seq": seq, "head_dim": dh, "dtype": name, "fwd_ms": fwd,
                   "bwd_ms": both - fwd, "fwd_bwd_ms": both, "fwd_tflops": flops / fwd / 1e9, "bwd_tflops": 2.5 * flops / (both - fwd) / 1e9}
            results.append(row)
            print(f"torch sdpa {name} batch {batch}: fwd {fwd:.3f} ms, fwd+bwd {both:.3f} ms", flush=True)
    with open(out, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
