"""The PEFT peer of bench/e2e-gpu: one LoRA configuration trained at a time on the issue's
~1.1 B Llama shape (d_model 2048, 16 layers, FFN 8192, 32 heads, 8 key/value heads, vocab
32000), sequence 512, LoRA on q, k, v, o, gate, up and down, alpha = 2r, AdamW.

Measures the steady-state step time (forward, backward, optimizer step; CUDA events after
warm-up, median) for every rank and per-adapter batch of ALTO's single-GPU grid, and the
model FLOPs utilisation of each step. The learning rate does not change the step time, so the
grid's 60 configurations are 12 timings here; sweep time = Σ steps × step time is computed by
the report, labelled as computed. With --eval-rows R (default 8, 0: none) each configuration
also times an evaluation forward (no gradient, the loss read back) on R sequences, so that the
report can count the evaluations ALTO's ways make at the same schedule.
usage: python peft_peer.py OUT.json [--steps N] [--eval-rows R]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cuda_events import median_ms  # noqa: E402

SHAPE = dict(hidden_size=2048, num_hidden_layers=16, intermediate_size=8192, num_attention_heads=32, num_key_value_heads=8,
             vocab_size=32000, max_position_embeddings=512)
SEQ = 512
RANKS = (16, 32, 64)
BATCHES = (1, 2, 4, 8)
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
BF16_PEAK_TFLOPS = 989.0  # H100/H200 SXM dense bf16, datasheet


def step_flops(params: int, lora_params: int, tokens: int) -> float:
    # Per token: 2·N forward over the frozen base and 2·N backward (the input gradient only: a
    # frozen weight gets none), 6·n for the LoRA weights; attention scores add 4·L·T·d forward.
    L, d = SHAPE["num_hidden_layers"], SHAPE["hidden_size"]
    attn = 4 * L * SEQ * d * tokens  # QKᵀ and AV, forward; ×3 with backward
    return tokens * (2 * params + 2 * params + 6 * lora_params) + 3 * attn


def measure(model_base, rank: int, batch: int, steps: int, warmup: int, eval_rows: int) -> dict:
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=TARGETS, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model_base, config)
    lora = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(lora, lr=2e-4)
    g = torch.Generator(device="cuda").manual_seed(rank * 10 + batch)
    ids = torch.randint(0, SHAPE["vocab_size"], (batch, SEQ), device="cuda", generator=g)
    last = {}

    def train_step():
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        last["loss"] = out.loss

    ms = median_ms(train_step, steps, warmup)
    evaluation = {}
    if eval_rows > 0:
        valid = torch.randint(0, SHAPE["vocab_size"], (eval_rows, SEQ), device="cuda", generator=g)

        def eval_step():
            with torch.no_grad():
                float(model(input_ids=valid, labels=valid).loss)

        model.eval()
        evaluation = {"eval_rows": eval_rows, "eval_ms": median_ms(eval_step, steps, warmup)}
        model.train()
    n_lora = sum(p.numel() for p in lora)
    n_base = sum(p.numel() for p in model.parameters()) - n_lora
    tokens = batch * SEQ
    flops = step_flops(n_base, n_lora, tokens)
    model.unload()  # back to the plain base for the next configuration
    del opt
    torch.cuda.empty_cache()
    return {"rank": rank, "batch": batch, "step_ms": ms, "tokens_per_s": tokens / (ms / 1e3), "mfu": flops / (ms / 1e3) / (BF16_PEAK_TFLOPS * 1e12),
            "lora_params": n_lora, "base_params": n_base, "loss": float(last["loss"]), **evaluation}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--eval-rows", type=int, default=8)
    args = ap.parse_args()
    torch.manual_seed(0)
    t0 = time.time()
    base = LlamaForCausalLM(LlamaConfig(**SHAPE, torch_dtype="bfloat16")).to(device="cuda", dtype=torch.bfloat16)
    base.config.use_cache = False
    results = []
    for rank in RANKS:
        for batch in BATCHES:
            r = measure(base, rank, batch, args.steps, args.warmup, args.eval_rows)
            results.append(r)
            evaluated = f", evaluation of {r['eval_rows']} rows {r['eval_ms']:.1f} ms" if "eval_ms" in r else ""
            print(f"rank {rank:3d} batch {batch}: {r['step_ms']:.1f} ms/step, {r['tokens_per_s']:.0f} tokens/s, MFU {100 * r['mfu']:.1f} %{evaluated}", flush=True)
    doc = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "shape": SHAPE, "seq": SEQ, "dtype": "bfloat16",
           "wall_s": time.time() - t0, "results": results}
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
