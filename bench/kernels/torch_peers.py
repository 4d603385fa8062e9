"""PyTorch peers of the grouped-LoRA kernels, on the shapes of kernels/bench/cuda_bench.cu.

Forward + backward of one LoRA-targeted projection (the same six products as ours:
S = X·A, Y += s·S·B, dS = s·dY·Bᵀ, dX += dS·Aᵀ, dA = Xᵀ·dS, dB = s·Sᵀ·dY), three ways:
  loop     a per-adapter loop of torch.mm / addmm_
  bmm      one bmm per product over weights zero-padded to the largest rank
  grouped  torch._grouped_mm over the same padded weights (bf16 only; skipped if absent)
usage: python torch_peers.py OUT.json
"""
import json
import sys

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
RANKS = (16, 32, 64)
SHAPES = [(2048, 32, b) for b in (1, 2, 4)] + [(4096, 8, b) for b in (1, 2, 4)]
SEQ = 512


def median_ms(fn, inner=10, reps=15):
    for _ in range(3 * inner):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / inner)
    times.sort()
    return times[len(times) // 2]


def copy_gbps():
    n = 2 << 30
    a = torch.ones(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    ms = median_ms(lambda: b.copy_(a), inner=5, reps=11)
    return 2 * n / (ms * 1e-3) / 1e9


def run(d, K, batch, dtype, tf32=False):
    rows = batch * SEQ
    T = rows * K
    g = torch.Generator(device="cuda").manual_seed(7)
    rnd = lambda *shape, scale=1.0: ((torch.rand(*shape, generator=g, device="cuda") * 2 - 1) * scale).to(dtype)
    ranks = [RANKS[a % 3] for a in range(K)]
    R = max(ranks)
    s = 2.0
    X, base, dY, dxb = rnd(T, d), rnd(T, d), rnd(T, d), rnd(T, d)
    A = [rnd(d, r, scale=0.02) for r in ranks]
    B = [rnd(r, d, scale=0.02) for r in ranks]
    Y, dX = base.clone(), dxb.clone()

    def loop():
        for a in range(K):
            o = a * rows
            xs, dys = X[o:o + rows], dY[o:o + rows]
            S = xs @ A[a]
            Y[o:o + rows].addmm_(S, B[a], alpha=s)
            dS = torch.mm(dys, B[a].t()).mul_(s)
            dX[o:o + rows].addmm_(dS, A[a].t())
            _dA = xs.t() @ dS
            _dB = torch.mm(S.t(), dys).mul_(s)

    Ap = torch.zeros(K, d, R, dtype=dtype, device="cuda")
    Bp = torch.zeros(K, R, d, dtype=dtype, device="cuda")
    for a in range(K):
        Ap[a, :, : ranks[a]] = A[a]
        Bp[a, : ranks[a]] = B[a] * s
    Xb, dYb, Yb, dXb = X.view(K, rows, d), dY.view(K, rows, d), Y.view(K, rows, d), dX.view(K, rows, d)

    def bmm():
        S = torch.bmm(Xb, Ap)
        Yb.baddbmm_(S, Bp)
        dS = torch.bmm(dYb, Bp.transpose(1, 2))
        dXb.baddbmm_(dS, Ap.transpose(1, 2))
        _dA = torch.bmm(Xb.transpose(1, 2), dS)
        _dB = torch.bmm(S.transpose(1, 2), dYb).mul_(s)

    offs = torch.tensor([rows * (a + 1) for a in range(K)], dtype=torch.int32, device="cuda")
    # grouped_mm takes its second operand column-major: copies laid out that way, once.
    Apc = Ap.transpose(1, 2).contiguous().transpose(1, 2)
    Bpc = Bp.transpose(1, 2).contiguous().transpose(1, 2)

    def grouped():
        S = torch._grouped_mm(X, Apc, offs=offs)
        Y.add_(torch._grouped_mm(S, Bpc, offs=offs))
        dS = torch._grouped_mm(dY, Bp.transpose(1, 2), offs=offs)
        dX.add_(torch._grouped_mm(dS, Ap.transpose(1, 2), offs=offs))
        _dA = torch._grouped_mm(X.t(), dS, offs=offs)
        _dB = torch._grouped_mm(S.t(), dY, offs=offs)

    out = {"dtype": "tf32" if tf32 else str(dtype).split(".")[-1], "d_model": d, "adapters": K, "batch": batch, "seq": SEQ}
    # Same function: Y after one pass of each way from the same start.
    results = {}
    for name, fn in (("loop", loop), ("bmm", bmm), ("grouped", grouped)):
        if name == "grouped" and dtype != torch.bfloat16:
            continue
        Y.copy_(base)
        dX.copy_(dxb)
        try:
            fn()
            torch.cuda.synchronize()
            results[name] = (Y.float().clone(), dX.float().clone())
            out[f"{name}_ms"] = median_ms(fn, inner=3 if name == "loop" else 10, reps=9 if name == "loop" else 15)
        except Exception as e:  # noqa: BLE001 - a peer that cannot run is reported, not fatal
            out[f"{name}_error"] = f"{type(e).__name__}: {e}"[:300]
    ref = results.get("loop")
    for name, (y, dx) in results.items():
        if ref is not None and name != "loop":
            out[f"{name}_rel_diff_y"] = float((y - ref[0]).norm() / ref[0].norm())
            out[f"{name}_rel_diff_dx"] = float((dx - ref[1]).norm() / ref[1].norm())
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "torch_peers.json"
    gbps = copy_gbps()
    rows = []
    # tf32: fp32 storage, products on the tensor cores with TF32 inputs (as ALTO_F32_TF32).
    for dtype, tf32 in ((torch.bfloat16, False), (torch.float32, True), (torch.float32, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        for d, K, b in SHAPES:
            rows.append(run(d, K, b, dtype, tf32))
            torch.cuda.empty_cache()
    torch.backends.cuda.matmul.allow_tf32 = False
    doc = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "copy_gbps": gbps, "results": rows}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"torch {torch.__version__}, copy {gbps:.0f} GB/s")
    for r in rows:
        print(r["dtype"], r["d_model"], r["adapters"], r["batch"], {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k.endswith("_ms") or k.endswith("error")})


if __name__ == "__main__":
    main()
