"""PyTorch reference of one unlearning request (the engine's algorithm), for `unlearn-lens bench`.

    /usr/bin/python3 tools/reference/unlearn.py --model models/fmnist-cnn16/model.json \
        --data-dir data/fashion-mnist-subset --forget-indices 12,345,6789 [--method adv+imp] \
        [--max-epochs 1000] [--seed 0] [--threads N]

Reads the SAME weights as the engine (the tfjs `model.json` weightsManifest and its float32
little-endian shards, matched by name into `SmallCnn` via `import_weights`) and the same IDX data
(pixels / 255, as src/engine/data/idx.ts), forgets the training instances given by index, and prints
ONE JSON object on stdout (progress goes to stderr).

Methods: naive (-CE on D_f), adv (+ targeted L2 PGD examples labelled with their targets),
imp (+ inverted-MAS penalty), adv+imp (both). Defaults are the paper's: N_adv 20, 100 PGD steps,
eps 4.0 (L2, pixel space), alpha 0.1, adversarial batch 256 + forget batch 32, SGD lr 1e-3 momentum 0.9
weight decay 1e-4 (on every trainable tensor), lambda 1, BatchNorm in train mode during unlearning,
stop as soon as forget accuracy is exactly 0 (checked after every step in eval mode), epoch cap.

Randomness (`--rng engine`, the default): the engine's own generator (mulberry32, src/engine/core/rng.ts)
is reimplemented here, with the same seeds and the same order of draws, so the adversarial targets,
the PGD random starts and the batch order are the engine's. The two sides then differ only by
floating-point arithmetic. `--rng torch` draws them from torch's generator instead.

The PGD random start (`--random-start`, the engine's attack.randomStart): `uniform-image` (default, the
paper's code: advertorch's L2 PGD with rand_init) is a uniform random image u in [0, 1] minus x,
scaled onto the eps-ball when farther than eps, then clipped to the box; `in-ball` is uniform inside
the eps-ball. The adversarial batch order (`--adversarial-order`, the
engine's adversarialOrder): `fixed` (default, the paper's code) cuts the set, laid out
repetition-major (example e = r*k + i), into consecutive batches and cycles them in that order every
epoch; `shuffled` reshuffles every epoch.

Phases timed with time.perf_counter: pgd, importance, unlearn (SGD steps + the per-step forget
check), eval (forget / retain / test accuracy after), total (pgd .. eval). Loading the model and the
data and the "before" accuracies are outside the phases. rss_mb is the process's peak RSS
(resource.getrusage(RUSAGE_SELF).ru_maxrss).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import resource
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ResNet, SmallCnn, import_weights  # noqa: E402

MASK = 0xFFFFFFFF
GOLDEN = 0x6D2B79F5


def log(msg: str) -> None:
    print(f"[reference] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the engine's generator
class EngineRng:
    """mulberry32 exactly as src/engine/core/rng.ts (same bits; the same call order gives the same numbers)."""

    def __init__(self, seed: int):
        self.state = ((seed & MASK) ^ 0x9E3779B9) & MASK

    def next(self) -> float:
        self.state = (self.state + GOLDEN) & MASK
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & MASK
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & MASK)) & MASK)) & MASK
        return ((t ^ (t >> 14)) & MASK) / 4294967296.0

    def int(self, n: int) -> int:
        return int(math.floor(self.next() * n))

    def permutation(self, n: int) -> List[int]:
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.int(i + 1)
            p[i], p[j] = p[j], p[i]
        return p

    def sample(self, n: int, k: int) -> List[int]:
        """k distinct indices from 0..n-1 in the order drawn (the engine's Rng.sample)."""
        return self.permutation(n)[:k]

    def bulk(self, count: int) -> np.ndarray:
        """The next `count` values of next() at once (the state advances by a constant per call)."""
        steps = np.arange(1, count + 1, dtype=np.uint64)
        t = (np.uint64(self.state) + steps * np.uint64(GOLDEN)) & np.uint64(MASK)
        self.state = int(t[-1]) if count else self.state
        m = np.uint64(MASK)
        t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & m
        t = (t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m)) & m)) & m
        return ((t ^ (t >> np.uint64(14))) & m).astype(np.float64) / 4294967296.0


def uniform_image_starts(u: np.ndarray, x_flat: np.ndarray, eps: float) -> np.ndarray:
    """The paper's code's start: d = u - x (u uniform in [0,1]^dim), d * min(1, eps/||d||), in float64,
    rounded to float32 once (as uniformImageStart in src/engine/core/attack.ts). x + start lies in [0, 1]
    (a convex combination of x and u); the attack still clips it, as advertorch does."""
    d = u - x_flat.astype(np.float64)
    norm = np.sqrt((d ** 2).sum(axis=1))
    scale = np.minimum(1.0, eps / np.maximum(norm, 1e-12))
    return (d * scale[:, None]).astype(np.float32)


def engine_attack_plan(labels: np.ndarray, n_adv: int, num_classes: int, dim: int, eps: float, seed: int,
                       x_forget: Optional[np.ndarray] = None, random_start: str = "uniform-image") -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """planAttack of src/engine/core/attack.ts: example e = r*k + i (repetition-major); per example one draw
    for the target ((y + 1 + int(C-1)) mod C), then the start: uniform-image, dim draws u (start from
    u - x, x_forget [k, ...] NHWC float32); in-ball, 2*dim draws for dim Box-Muller normals (stored as
    float32) and one for the radius. Returns targets, sources and starts [count, dim] (float32, NHWC)."""
    rng = EngineRng(seed * 7919 + 1)
    k = len(labels)
    count = k * n_adv
    sources = np.tile(np.arange(k), n_adv)
    if random_start == "uniform-image":
        if x_forget is None:
            raise ValueError("the uniform-image start needs the forget images")
        u = rng.bulk(count * (dim + 1)).reshape(count, dim + 1)
        targets = (labels[sources] + 1 + np.floor(u[:, 0] * (num_classes - 1)).astype(np.int64)) % num_classes
        starts = uniform_image_starts(u[:, 1:], x_forget.reshape(k, dim)[sources], eps)
        return targets.astype(np.int64), sources.astype(np.int64), starts
    if random_start != "in-ball":
        raise ValueError(f"unknown random start {random_start!r}")
    per = 2 * dim + 2
    u = rng.bulk(count * per).reshape(count, per)
    targets = (labels[sources] + 1 + np.floor(u[:, 0] * (num_classes - 1)).astype(np.int64)) % num_classes
    first = 1 - u[:, 1:-1:2]
    second = u[:, 2:-1:2]
    normals = (np.sqrt(-2 * np.log(first)) * np.cos(2 * math.pi * second)).astype(np.float32)
    norm = np.sqrt((normals.astype(np.float64) ** 2).sum(axis=1))
    scale = eps * np.power(u[:, -1], 1.0 / dim) / norm
    starts = (normals.astype(np.float64) * scale[:, None]).astype(np.float32)
    return targets.astype(np.int64), sources.astype(np.int64), starts


def torch_attack_plan(labels: np.ndarray, n_adv: int, num_classes: int, dim: int, eps: float, seed: int,
                      x_forget: Optional[np.ndarray] = None, random_start: str = "uniform-image") -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = torch.Generator().manual_seed(seed * 7919 + 1)
    k = len(labels)
    count = k * n_adv
    sources = np.tile(np.arange(k), n_adv)
    offsets = torch.randint(0, num_classes - 1, (count,), generator=g).numpy()
    targets = (labels[sources] + 1 + offsets) % num_classes
    if random_start == "uniform-image":
        u = torch.rand(count, dim, generator=g, dtype=torch.float64).numpy()
        return targets.astype(np.int64), sources.astype(np.int64), uniform_image_starts(u, x_forget.reshape(k, dim)[sources], eps)
    v = torch.randn(count, dim, generator=g, dtype=torch.float64)
    r = torch.rand(count, generator=g, dtype=torch.float64) ** (1.0 / dim)
    starts = (v * (eps * r / v.norm(dim=1)).unsqueeze(1)).float().numpy()
    return targets.astype(np.int64), sources.astype(np.int64), starts


class Loader:
    """Shuffled batches, reshuffled each pass (as the engine's Loader / a DataLoader with shuffle); with
    shuffle=False, consecutive batches in index order, the same every pass, drawing nothing from rng."""

    def __init__(self, count: int, batch: int, rng, shuffle: bool = True):
        self.count, self.batch, self.rng, self.shuffle = count, batch, rng, shuffle
        self.order: List[int] = []
        self.position = 0

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.count / self.batch)

    def next(self) -> List[int]:
        if self.position >= len(self.order):
            self.order = self.rng.permutation(self.count) if self.shuffle else list(range(self.count))
            self.position = 0
        b = self.order[self.position : self.position + self.batch]
        self.position += self.batch
        return b


class TorchPermutations:
    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)

    def permutation(self, n: int) -> List[int]:
        return torch.randperm(n, generator=self.g).tolist()


# --------------------------------------------------------------------------- model and data
def load_tfjs_model(model_json: str) -> SmallCnn:
    with open(model_json, "r", encoding="utf8") as f:
        meta = json.load(f)
    base = os.path.dirname(os.path.abspath(model_json))
    arrays: List[Tuple[str, np.ndarray]] = []
    for group in meta["weightsManifest"]:
        buf = b"".join(open(os.path.join(base, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            if w.get("dtype", "float32") != "float32" or w.get("quantization"):
                raise SystemExit(f"{model_json}: weight {w['name']} is not plain float32")
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            a = np.frombuffer(buf, dtype="<f4", count=n, offset=offset).reshape(w["shape"])
            offset += 4 * n
            arrays.append((w["name"], a))
        if offset != len(buf):
            raise SystemExit(f"{model_json}: shards hold {len(buf)} bytes, the manifest describes {offset}")
    shapes = dict((name, a.shape) for name, a in arrays)
    if "conv1/kernel" not in shapes or "logits/kernel" not in shapes:
        raise SystemExit(f"{model_json}: not a SmallCnn or ResNet (conv1, ..., logits) this reference knows")
    _, _, in_channels, width = shapes["conv1/kernel"]
    num_classes = shapes["logits/kernel"][1]
    blocks = {n.split("_")[0] for n in shapes if n.startswith("s") and "b" in n.split("_")[0]}
    if blocks:
        model = ResNet(6 * (len(blocks) // 3) + 2, width, num_classes, in_channels)
    else:
        model = SmallCnn(width, num_classes, in_channels)
    import_weights(model, arrays)
    return model


def read_idx(path: str) -> np.ndarray:
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(data_dir: str, prefix: str) -> Tuple[np.ndarray, np.ndarray]:
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    # As the engine: byte / 255 in double precision, stored as float32. NHWC with one channel.
    return (x.astype(np.float64) / 255).astype(np.float32)[..., None], y.astype(np.int64)


def nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def predict(model: SmallCnn, x: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    was = model.training
    model.eval()
    out = torch.cat([model(x[i : i + chunk]).argmax(1) for i in range(0, len(x), chunk)])
    model.train(was)
    return out


def accuracy(model: SmallCnn, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((predict(model, x) == y).float().mean()) if len(y) else 0.0


# --------------------------------------------------------------------------- the method
def targeted_l2_pgd(model: SmallCnn, x: torch.Tensor, targets: torch.Tensor, starts: torch.Tensor, eps: float, alpha: float, steps: int, chunk: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eval mode; delta <- delta - alpha g/||g||, clip x+delta to [0,1], project ||delta|| <= eps; last iterate."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    advs, preds = [], []
    for c in range(0, len(x), chunk):
        xc, tc = x[c : c + chunk], targets[c : c + chunk]
        delta = (xc + starts[c : c + chunk]).clamp(0, 1) - xc
        for _ in range(steps):
            delta.requires_grad_(True)
            loss = F.cross_entropy(model(xc + delta), tc, reduction="sum")
            (g,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                gn = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                delta = delta - alpha * g / gn
                delta = (xc + delta).clamp(0, 1) - xc
                dn = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                delta = delta * torch.clamp(eps / dn, max=1.0)
        with torch.no_grad():
            adv = (xc + delta).clamp(0, 1)
            advs.append(adv)
            preds.append(model(adv).argmax(1))
    for p in model.parameters():
        p.requires_grad_(True)
    return torch.cat(advs), torch.cat(preds)


def bn_buffers(model: SmallCnn) -> List[torch.Tensor]:
    return [b for b in model.buffers()]


def mas_penalty_weights(model: SmallCnn, x_forget: torch.Tensor) -> List[torch.Tensor]:
    """Omega = |d/dtheta mean_i ||f(x_i)||_2| in train mode (running statistics restored after);
    per tensor w = 1 - (Omega - min)/(max - min), w = 1 where max == min."""
    saved = [b.clone() for b in bn_buffers(model)]
    model.train()
    params = list(model.parameters())
    obj = model(x_forget).norm(dim=1).mean()
    grads = torch.autograd.grad(obj, params)
    with torch.no_grad():
        for b, s in zip(bn_buffers(model), saved):
            b.copy_(s)
    weights = []
    for g in grads:
        o = g.abs()
        lo, hi = o.min(), o.max()
        rng = hi - lo
        weights.append(1 - (o - lo) / rng if float(rng) > 0 else torch.ones_like(o))
    return weights


def build_parser() -> argparse.ArgumentParser:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(root, "models/fmnist-cnn16/model.json"))
    ap.add_argument("--data-dir", default=os.path.join(root, "data/fashion-mnist-subset"))
    ap.add_argument("--forget-indices", required=True, help="comma list of training indices, or a JSON file with a list")
    ap.add_argument("--method", default="adv+imp", choices=["naive", "adv", "imp", "adv+imp"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rng", default="engine", choices=["engine", "torch"])
    ap.add_argument("--n-adv", type=int, default=0, help="adversarial examples per instance (0: 20, or 200 for 100+ classes)")
    ap.add_argument("--pgd-steps", type=int, default=100)
    ap.add_argument("--eps", type=float, default=4.0)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--pgd-chunk", type=int, default=512)
    ap.add_argument("--random-start", default="uniform-image", choices=["uniform-image", "in-ball"],
                    help="PGD start: the paper's code's (uniform image - x, onto the eps-ball) or uniform inside the ball")
    ap.add_argument("--adversarial-order", default="fixed", choices=["fixed", "shuffled"],
                    help="adversarial batches: the set's repetition-major order every epoch (paper) or reshuffled each epoch")
    ap.add_argument("--adv-batch", type=int, default=256)
    ap.add_argument("--forget-batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--lambda", dest="lam", type=float, default=1.0)
    ap.add_argument("--max-epochs", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    # The bounded-forget options, mirroring src/contracts/options.ts / objectives.ts / unlearn.ts exactly.
    ap.add_argument("--forget-term", default="negative-ce", choices=["negative-ce", "remembered-ce", "margin", "nearest-ce"])
    ap.add_argument("--forget-statistics", default="batch", choices=["batch", "running"],
                    help="BatchNorm statistics of the forget-batch forward: the batch's (paper) or the running ones (eval-mode BN for that forward only)")
    ap.add_argument("--stop-margin", type=float, default=0.0, help="forgotten only when z_y <= max_other - margin (0: argmax test)")
    ap.add_argument("--guard-action", default="off", choices=["off", "report", "stop"],
                    help="collateral-damage guard (engine: agreement with the original predictions on up to 512 adversarial examples + the probe)")
    ap.add_argument("--guard-min-agreement", type=float, default=0.9)
    ap.add_argument("--guard-every", type=int, default=10)
    ap.add_argument("--guard-probe-indices", default="", help="training indices of the guard's probe images (comma list or JSON file)")
    ap.add_argument("--max-seconds", type=float, default=0, help="stop the SGD loop after this many seconds (0: no limit); stopped = 'time-cap'")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (the regime search on a GPU machine)")
    return ap


def read_indices(spec: str) -> List[int]:
    """A comma list of indices, or the path of a JSON file holding a list."""
    if os.path.isfile(spec):
        with open(spec, "r", encoding="utf8") as f:
            return [int(i) for i in json.load(f)]
    return [int(s) for s in spec.split(",") if s.strip()]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    forget_idx = read_indices(args.forget_indices)

    model = load_tfjs_model(args.model)
    xtr, ytr = load_split(args.data_dir, "train")
    xte, yte = load_split(args.data_dir, "t10k")
    if not forget_idx or min(forget_idx) < 0 or max(forget_idx) >= len(ytr):
        raise SystemExit(f"forget indices must lie in 0..{len(ytr) - 1}")
    probe_idx = read_indices(args.guard_probe_indices) if args.guard_probe_indices else []
    print(json.dumps(run(args, model, xtr, ytr, xte, yte, forget_idx, probe_idx)))
    return 0


def run(args, model, xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray, forget_idx: List[int], probe_idx: List[int],
        attack_cache: Optional[dict] = None) -> dict:
    """One request on `model` (changed in place), data as load_split gives it; returns the result dict.

    attack_cache: a dict shared by runs that start from the SAME pre-trained model (the caller keeps one
    per model). The adversarial set depends only on that model, the forget set and the attack options,
    so runs that share them (ADV and ADV+IMP, every forget-term option) reuse it; the reused run's
    seconds["pgd"] is the time the attack took when it was computed (marked seconds["pgd_cached"] = 1)."""
    dev = torch.device(args.device)
    model.to(dev)
    k = len(forget_idx)
    num_classes = model.num_classes
    shape = xtr.shape[1:]
    dim = int(np.prod(shape))
    retain_mask = np.ones(len(ytr), dtype=bool)
    retain_mask[forget_idx] = False
    x_forget_np, y_forget_np = xtr[forget_idx], ytr[forget_idx]
    x_forget, y_forget = nchw(x_forget_np).to(dev), torch.from_numpy(y_forget_np).to(dev)
    x_retain, y_retain = nchw(xtr[retain_mask]).to(dev), torch.from_numpy(ytr[retain_mask]).to(dev)
    x_test, y_test = nchw(xte).to(dev), torch.from_numpy(yte).to(dev)
    before = {"forget": accuracy(model, x_forget, y_forget), "retain": accuracy(model, x_retain, y_retain), "test": accuracy(model, x_test, y_test)}
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads; k={k}, method {args.method}; before {before}")

    adv_methods = args.method in ("adv", "adv+imp")
    imp_methods = args.method in ("imp", "adv+imp")
    n_adv = args.n_adv or (200 if num_classes >= 100 else 20)
    seconds: Dict[str, float] = {"pgd": 0.0, "importance": 0.0, "unlearn": 0.0, "eval": 0.0, "total": 0.0}
    started = time.perf_counter()
    cpu_started = time.process_time()  # CPU seconds of all this process's threads

    x_adv = t_adv = None
    attack_success = None
    random_start = getattr(args, "random_start", "uniform-image")
    attack_key = (tuple(forget_idx), n_adv, args.eps, args.alpha, args.pgd_steps, args.seed, args.rng, args.pgd_chunk, random_start)
    if adv_methods and attack_cache is not None and attack_key in attack_cache:
        x_adv, t_adv, attack_success, seconds["pgd"] = attack_cache[attack_key]
        seconds["pgd_cached"] = 1.0
        log(f"PGD: reused {len(t_adv)} examples computed earlier in {seconds['pgd']:.2f} s")
    elif adv_methods:
        t0 = time.perf_counter()
        plan = engine_attack_plan if args.rng == "engine" else torch_attack_plan
        targets, sources, starts = plan(y_forget_np, n_adv, num_classes, dim, args.eps, args.seed, x_forget_np, random_start)
        x_src = x_forget[torch.from_numpy(sources).to(dev)]
        starts_t = nchw(starts.reshape(len(targets), *shape)).to(dev)
        t_adv = torch.from_numpy(targets).to(dev)
        x_adv, predicted = targeted_l2_pgd(model, x_src, t_adv, starts_t, args.eps, args.alpha, args.pgd_steps, args.pgd_chunk)
        attack_success = float((predicted == t_adv).float().mean())
        seconds["pgd"] = time.perf_counter() - t0
        log(f"PGD: {len(targets)} examples x {args.pgd_steps} steps in {seconds['pgd']:.2f} s, {100 * attack_success:.1f} % reach their target")
        if attack_cache is not None:
            attack_cache[attack_key] = (x_adv, t_adv, attack_success, seconds["pgd"])

    params = list(model.parameters())
    theta0 = [p.detach().clone() for p in params]
    penalty_w = None
    if imp_methods:
        t0 = time.perf_counter()
        penalty_w = mas_penalty_weights(model, x_forget)
        seconds["importance"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    model.train()
    opt = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    order_rng = EngineRng(args.seed * 7919 + 2) if args.rng == "engine" else TorchPermutations(args.seed * 7919 + 2)
    forget_loader = Loader(k, args.forget_batch, order_rng)
    adv_loader = Loader(len(t_adv), args.adv_batch, order_rng, getattr(args, "adversarial_order", "fixed") == "shuffled") if adv_methods else None
    steps_per_epoch = adv_loader.batches_per_epoch if adv_loader else forget_loader.batches_per_epoch
    bn_modules = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]

    def forget_logits(xb: torch.Tensor) -> torch.Tensor:
        if args.forget_statistics == "running":
            for m in bn_modules:
                m.eval()
            z = model(xb)
            for m in bn_modules:
                m.train()
            return z
        return model(xb)

    def forget_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if args.forget_term == "negative-ce":
            return -F.cross_entropy(z, y)
        one_hot = F.one_hot(y, z.shape[1]).to(z.dtype)
        true_logit = (one_hot * z).sum(1)
        others = z + one_hot * -1e9
        best_other, best_other_class = others.max(1)
        if args.forget_term == "margin":
            return F.relu(true_logit - best_other + args.stop_margin).mean()
        if args.forget_term == "nearest-ce":
            return F.cross_entropy(z, best_other_class)
        remembered_mask = (true_logit - best_other + args.stop_margin >= 0).to(z.dtype)
        return -(remembered_mask * F.cross_entropy(z, y, reduction="none")).mean()

    @torch.no_grad()
    def count_remembered() -> int:
        if args.stop_margin == 0:
            return int((predict(model, x_forget) == y_forget).sum())
        was = model.training
        model.eval()
        z = model(x_forget)
        model.train(was)
        one_hot = F.one_hot(y_forget, z.shape[1]).to(z.dtype)
        margin = (one_hot * z).sum(1) - (z + one_hot * -1e9).max(1).values
        return int((margin > -args.stop_margin).sum())

    # The guard (unlearn.ts): probe = an even spread of up to 512 adversarial examples + probe images.
    guard_on = args.guard_action != "off"
    probe_parts = []
    if guard_on and x_adv is not None:
        count = len(t_adv)
        take = min(count, 512)
        probe_parts.append(x_adv[[(j * count) // take for j in range(take)]])
    if guard_on and probe_idx:
        probe_parts.append(nchw(xtr[probe_idx]).to(dev))
    # As the engine's guard: the agreement is the lowest of the parts' (adversarial examples; probe images).
    probe_orig = [predict(model, part) for part in probe_parts]
    guard = {"agreement": 1.0, "min_agreement": 1.0, "probe_size": sum(len(part) for part in probe_parts), "tripped": None}
    checkpoint = {"step": None, "state": None}

    def agreement() -> float:
        return min((float((predict(model, part) == orig).float().mean()) for part, orig in zip(probe_parts, probe_orig)), default=1.0)

    def check_guard(step: int) -> bool:
        if not guard_on:
            return True
        a = agreement()
        guard["agreement"] = a
        guard["min_agreement"] = min(guard["min_agreement"], a)
        if a >= args.guard_min_agreement:
            if args.guard_action == "stop":
                checkpoint["step"] = step
                checkpoint["state"] = {n: t.detach().clone() for n, t in model.state_dict().items()}
            return True
        if guard["tripped"] is None:
            guard["tripped"] = {"step": step, "agreement": a, "action": args.guard_action}
        if args.guard_action == "stop" and checkpoint["state"] is not None:
            model.load_state_dict(checkpoint["state"])
            guard["tripped"]["rolled_back_to_step"] = checkpoint["step"]
            guard["agreement"] = agreement()
        return args.guard_action != "stop"

    left = count_remembered()
    check_guard(0)
    steps = epochs = 0
    stopped = "forgotten" if left == 0 else "max-epochs"
    loss_value = float("nan")
    while left > 0 and epochs < args.max_epochs:
        epochs += 1
        for _ in range(steps_per_epoch):
            fb = forget_loader.next()
            opt.zero_grad(set_to_none=True)
            if adv_loader is not None:
                ab = adv_loader.next()
                adv_ce = F.cross_entropy(model(x_adv[ab]), t_adv[ab])  # adversarial batch first, as the engine
            forget_term = forget_loss(forget_logits(x_forget[fb]), y_forget[fb])
            if adv_loader is not None:
                loss = (len(fb) * forget_term + len(ab) * adv_ce) / (len(fb) + len(ab))
            else:
                loss = forget_term
            if penalty_w is not None:
                loss = loss + args.lam / 2 * sum((w * (p - p0) ** 2).sum() for w, p, p0 in zip(penalty_w, params, theta0))
            loss.backward()
            opt.step()
            steps += 1
            left = count_remembered()
            if steps % 50 == 0:
                loss_value = float(loss)
                log(f"step {steps} (epoch {epochs}) loss {loss_value:.3f}, {left}/{k} remembered")
            done = left == 0
            if (done or steps % args.guard_every == 0) and guard_on and not check_guard(steps):
                stopped = "guard"
                left = count_remembered()
                break
            if done:
                stopped = "forgotten"
                break
            if args.max_seconds and time.perf_counter() - t0 > args.max_seconds:
                stopped = "time-cap"
                break
        if left == 0 or stopped in ("guard", "time-cap"):
            break
    if guard_on and stopped == "max-epochs" and steps % args.guard_every != 0 and not check_guard(steps):
        stopped = "guard"
        left = count_remembered()
    seconds["unlearn"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    after = {"forget": accuracy(model, x_forget, y_forget), "retain": accuracy(model, x_retain, y_retain), "test": accuracy(model, x_test, y_test)}
    seconds["eval"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - started + (seconds["pgd"] if seconds.get("pgd_cached") else 0.0)  # what a run of its own takes
    cpu_seconds = time.process_time() - cpu_started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    log(f"{steps} steps, {stopped}; after {after}; {seconds['total']:.1f} s")

    pgd_steps = args.pgd_steps if adv_methods else 0
    out = {
        "backend": f"pytorch {torch.__version__} {args.device}, {torch.get_num_threads()} threads",
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_mb": rss_mb,
        "test_after": after["test"],
        "forget_after": after["forget"],
        "retain_after": after["retain"],
        "before": before,
        "steps": steps,
        "epochs": epochs,
        "stopped": stopped,
        "remembered": left,
        "per_step": {
            "sgd": seconds["unlearn"] / steps if steps else None,
            "pgd": seconds["pgd"] / pgd_steps if pgd_steps else None,
        },
        "attack_success": attack_success,
        "adversarial_examples": len(t_adv) if t_adv is not None else 0,
        "k": k,
        "method": args.method,
        "rng": args.rng,
        "threads": torch.get_num_threads(),
    }
    if args.forget_term != "negative-ce" or args.forget_statistics != "batch" or args.stop_margin != 0 or guard_on:
        out["options"] = {"forget_term": args.forget_term, "forget_statistics": args.forget_statistics, "stop_margin": args.stop_margin}
    if guard_on:
        out["guard"] = guard
    return out


if __name__ == "__main__":
    sys.exit(main())
