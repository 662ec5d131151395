"""Train the project's pre-trained classifiers (PyTorch) and write the Fashion-MNIST subset they were
trained on.

    # the demo's default, models/fmnist-resnet8-w16-aug (shipped: trained on an H100, see below)
    python3 tools/train_default_model.py --arch resnet --depth 8 --width 16 --augment --epochs 60 --device cuda --skip-data
    # the smaller hard case, models/fmnist-cnn16 (deterministic on the CPU)
    /usr/bin/python3 tools/train_default_model.py            # defaults: small CNN, width 16, 40 epochs, 10k
    # then: npx tsx tools/build-model.ts models/<name>

What it does
  * Reads Debian's Fashion-MNIST (`dataset-fashion-mnist`, MIT, /usr/share/datasets/fashion-mnist)
    with a small gzip IDX parser.
  * Subset: training images = the first N_TRAIN (10,000) indices of
    numpy.random.RandomState(0).permutation(60000); test images = the first N_TEST (5,000) indices of
    numpy.random.RandomState(0).permutation(10000). Order is the permutation order (not sorted), so
    the first n images of the subset are the subset for any smaller n.
  * Trains SmallCnn(width, 10) or ResNet(depth, width, 10) (tools/reference/model.py, the twins of
    tools/zoo.ts) on the training subset: SGD momentum 0.9, lr 0.05 with per-step cosine decay
    to 0, weight decay 5e-4 on every parameter, batch 128 (last partial batch kept); inputs are
    pixels / 255; --augment adds a random crop (2-pixel zero padding) and a horizontal flip per image.
    The paper's pre-trained models memorise their training data, so it trains to ~100 % train
    accuracy.
  * Seeded: torch.manual_seed(0), numpy seed 0, a seeded CPU torch.Generator for the per-epoch
    shuffles and the augmentation draws; on the CPU also torch.use_deterministic_algorithms(True)
    (bit-reproducible there). With --device cuda, cuDNN's kernels are not bit-reproducible: the
    shipped fmnist-resnet8-w16-aug (train 95.41 %, test 90.50 %) came from
    tools/reference/regime.py on an H100 with PyTorch 2.11; a rerun gives a model of the same
    quality, not the same bytes (docs/regime.md).
  * Writes (unless --skip-data) data/fashion-mnist-subset/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    (uint8 IDX, gzip mtime 0 so the bytes are reproducible), and
    <out>/weights.export.json: {"architecture": {...}, "trainAccuracy", "testAccuracy",
    "weights": [{"name", "shape", "data": base64 little-endian float32}]} in tfjs getWeights()
    order and layout (a Node script turns it into model.json + weights.bin).

Accuracies are measured in eval mode (BatchNorm running statistics), as the engine predicts.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from reference.model import build_model, export_weights, import_weights  # noqa: E402

SRC_DIR = "/usr/share/datasets/fashion-mnist"
DEFAULT_DATA_OUT = os.path.join(REPO, "data", "fashion-mnist-subset")
DEFAULT_N_TRAIN = 10000
DEFAULT_N_TEST = 5000


# ---------------------------------------------------------------- IDX files
def read_idx(path: str) -> np.ndarray:
    """Parse a (optionally gzipped) IDX file with unsigned-byte data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {np.prod(dims)} bytes of data, found {data.size}")
    return data.reshape(dims)


def write_idx_gz(path: str, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file, byte-for-byte reproducible (mtime 0, no name)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(header)
        gz.write(array.tobytes())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def load_subset(n_train: int, n_test: int):
    if not os.path.exists(os.path.join(SRC_DIR, "train-images-idx3-ubyte.gz")):
        # Without Debian's dataset-fashion-mnist, the shipped subset is the same images in the same order.
        d = DEFAULT_DATA_OUT
        xtr, ytr = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")), read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
        xte, yte = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")), read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
        if n_train > len(xtr) or n_test > len(xte):
            raise SystemExit(f"{SRC_DIR} is missing (apt-get install dataset-fashion-mnist) and the shipped subset has only {len(xtr)}/{len(xte)} images")
        print(f"{SRC_DIR} not found: reading the shipped subset {d}")
        return xtr[:n_train], ytr[:n_train], xte[:n_test], yte[:n_test]
    xtr = read_idx(os.path.join(SRC_DIR, "train-images-idx3-ubyte.gz"))
    ytr = read_idx(os.path.join(SRC_DIR, "train-labels-idx1-ubyte.gz"))
    xte = read_idx(os.path.join(SRC_DIR, "t10k-images-idx3-ubyte.gz"))
    yte = read_idx(os.path.join(SRC_DIR, "t10k-labels-idx1-ubyte.gz"))
    tr_idx = np.random.RandomState(0).permutation(len(xtr))[:n_train]
    te_idx = np.random.RandomState(0).permutation(len(xte))[:n_test]
    return xtr[tr_idx], ytr[tr_idx], xte[te_idx], yte[te_idx]


# ---------------------------------------------------------------- training
def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # N,1,28,28


@torch.no_grad()
def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    was = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
    model.train(was)
    return correct / len(x)


def augment_batch(xb: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random crop after `pad` pixels of zero padding, and random horizontal flip (per image, drawn from
    `gen` on the CPU so the draws do not depend on the device)."""
    n, _, h, w = xb.shape
    offs = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    padded = F.pad(xb, (pad, pad, pad, pad))
    rows = (torch.arange(h).view(1, h) + offs[:, :1]).to(xb.device)  # n,h
    cols = (torch.arange(w).view(1, w) + offs[:, 1:]).to(xb.device)  # n,w
    out = padded[torch.arange(n, device=xb.device).view(n, 1, 1), :, rows.view(n, h, 1), cols.view(n, 1, w)]  # n,h,w,c
    out = out.permute(0, 3, 1, 2)
    return torch.where(flips.to(xb.device).view(n, 1, 1, 1), out.flip(3), out)


def architecture(args) -> dict:
    if args.arch == "small_cnn":
        return {"kind": "small_cnn", "width": args.width, "numClasses": 10, "inputShape": [28, 28, 1]}
    return {"kind": "resnet", "depth": args.depth, "width": args.width, "numClasses": 10, "inputShape": [28, 28, 1]}


def train_model(arch: dict, xtr, ytr, xte, yte, *, epochs: int, lr: float, weight_decay: float, batch: int,
                augment: bool, device: str = "cpu", log_every: int = 5, log=print, seed: int = 0):
    """Train `arch` from `seed` (SGD momentum 0.9, cosine per step to 0). Returns (model, train acc,
    test acc, seconds); accuracies in eval mode."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = build_model(arch).to(device)
    xtr, ytr, xte, yte = xtr.to(device), ytr.to(device), xte.to(device), yte.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps_per_epoch = (len(xtr) + batch - 1) // batch
    total_steps = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, total_steps) / total_steps)))
    gen = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        for i in range(0, len(xtr), batch):
            idx = perm[i : i + batch]
            xb = augment_batch(xtr[idx], gen) if augment else xtr[idx]
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(idx)
        if epoch % log_every == 0 or epoch == epochs or epoch == 1:
            tr_acc, te_acc = accuracy(model, xtr, ytr), accuracy(model, xte, yte)
            log(
                f"epoch {epoch:3d}  loss {float(loss_sum) / len(xtr):.4f}  train {tr_acc * 100:6.2f} %  "
                f"test {te_acc * 100:6.2f} %  lr {sched.get_last_lr()[0]:.5f}  {time.time() - t0:6.1f} s"
            )
    elapsed = time.time() - t0
    return model, accuracy(model, xtr, ytr), accuracy(model, xte, yte), elapsed


def train(args) -> None:
    torch.set_num_threads(args.threads)
    if args.device == "cpu":
        torch.use_deterministic_algorithms(True)

    xtr_u8, ytr_u8, xte_u8, yte_u8 = load_subset(args.n_train, args.n_test)
    if not args.skip_data:
        write_data(args, xtr_u8, ytr_u8, xte_u8, yte_u8)

    variant = apply_variant(args, xtr_u8, ytr_u8)
    if variant is not None:
        xtr_u8, ytr_u8 = variant["images"], variant["labels"]
    xtr, ytr = to_tensor(xtr_u8), torch.from_numpy(ytr_u8.astype(np.int64))
    xte, yte = to_tensor(xte_u8), torch.from_numpy(yte_u8.astype(np.int64))
    print(f"train {tuple(xtr.shape)}  test {tuple(xte.shape)}  class counts {np.bincount(ytr_u8, minlength=10).tolist()}")
    arch = architecture(args)
    print(f"{arch}: {sum(p.numel() for p in build_model(arch).parameters())} trainable parameters, augment {args.augment}")
    model, tr_acc, te_acc, elapsed = train_model(arch, xtr, ytr, xte, yte, epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                                                 batch=args.batch, augment=args.augment, device=args.device, log_every=args.log_every,
                                                 log=lambda m: print(m, flush=True), seed=args.seed)
    print(f"done in {elapsed:.1f} s: train {tr_acc * 100:.2f} %, test {te_acc * 100:.2f} % (eval mode)")
    write_export(args, model.cpu(), tr_acc, te_acc, elapsed, None if variant is None else variant["describe"])


def apply_variant(args, xtr: np.ndarray, ytr: np.ndarray):
    """The training set of a retrained reference: without the forget set (--without), or with each
    forget instance relabelled (--relabel). The forget sets come from a JSON file written by
    tools/forget-sets.ts ({"sets": [{"name", "indices", "nearest"}]}), so Python and the engine agree
    on which training images they are."""
    if args.without is None and args.relabel is None:
        return None
    with open(args.forget_sets) as f:
        sets = {s["name"]: s for s in json.load(f)["sets"]}
    name = args.without if args.without is not None else args.relabel
    if name not in sets:
        raise SystemExit(f"{args.forget_sets}: no forget set named {name!r} (have: {', '.join(sorted(sets))})")
    chosen = sets[name]
    idx = np.asarray(chosen["indices"], dtype=np.int64)
    if args.without is not None:
        keep = np.ones(len(xtr), dtype=bool)
        keep[idx] = False
        print(f"retraining without forget set {name}: {len(idx)} instances removed, {int(keep.sum())} kept")
        return {"images": xtr[keep], "labels": ytr[keep], "describe": {"kind": "without", "forgetSet": name, "indices": chosen["indices"]}}
    labels = ytr.copy()
    labels[idx] = np.asarray(chosen["nearest"], dtype=labels.dtype)
    print(f"retraining with forget set {name} relabelled to each instance's nearest other class")
    return {"images": xtr, "labels": labels, "describe": {"kind": "relabelled", "forgetSet": name, "indices": chosen["indices"], "newLabels": chosen["nearest"]}}


# ---------------------------------------------------------------- outputs
def write_data(args, xtr, ytr, xte, yte) -> None:
    out = args.data_out
    os.makedirs(out, exist_ok=True)
    write_idx_gz(os.path.join(out, "train-images-idx3-ubyte.gz"), xtr)
    write_idx_gz(os.path.join(out, "train-labels-idx1-ubyte.gz"), ytr)
    write_idx_gz(os.path.join(out, "t10k-images-idx3-ubyte.gz"), xte)
    write_idx_gz(os.path.join(out, "t10k-labels-idx1-ubyte.gz"), yte)
    print(f"wrote subset IDX files to {out}")


def export_doc(arch: dict, model, tr_acc: float, te_acc: float, training: dict) -> dict:
    """The weights.export.json document tools/build-model.ts reads: float32 weights in the tfjs
    getWeights() order and layout, base64 little-endian."""
    weights = [
        {"name": name, "shape": list(arr.shape), "data": base64.b64encode(arr.astype("<f4").tobytes()).decode("ascii")}
        for name, arr in export_weights(model)
    ]
    return {"architecture": arch, "trainAccuracy": round(tr_acc, 6), "testAccuracy": round(te_acc, 6), "training": training, "weights": weights}


def import_doc(doc: dict):
    """The model of an export_doc document."""
    model = build_model(doc["architecture"])
    import_weights(model, [(w["name"], np.frombuffer(base64.b64decode(w["data"]), dtype="<f4").reshape(w["shape"])) for w in doc["weights"]])
    return model


def write_export(args, model, tr_acc: float, te_acc: float, elapsed: float, variant=None) -> None:
    os.makedirs(args.out, exist_ok=True)
    doc = export_doc(
        architecture(args),
        model,
        tr_acc,
        te_acc,
        {
            "script": "tools/train_default_model.py",
            "dataset": "Fashion-MNIST subset (see data/fashion-mnist-subset/README.md)",
            "nTrain": args.n_train,
            "nTest": args.n_test,
            "epochs": args.epochs,
            "batchSize": args.batch,
            "optimizer": f"SGD momentum 0.9, lr {args.lr} cosine to 0, weight decay {args.weight_decay}",
            "augment": "random crop (pad 2) + horizontal flip" if args.augment else "none",
            "device": args.device,
            "seed": args.seed,
            "torch": torch.__version__,
            "seconds": round(elapsed, 1),
            **({"variant": variant} if variant is not None else {}),
        },
    )
    path = os.path.join(args.out, "weights.export.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="small_cnn", choices=["small_cnn", "resnet"])
    p.add_argument("--depth", type=int, default=20, help="ResNet depth, 6n + 2")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--augment", action="store_true", help="random crop (pad 2) + horizontal flip")
    p.add_argument("--device", default="cpu", help="cpu (deterministic) or cuda")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--n-train", type=int, default=DEFAULT_N_TRAIN)
    p.add_argument("--n-test", type=int, default=DEFAULT_N_TEST)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--log-every", type=int, default=5)
    p.add_argument("--out", default=None, help="model folder (default models/fmnist-cnn<width>)")
    p.add_argument("--data-out", default=None, help=f"subset folder (default {DEFAULT_DATA_OUT})")
    p.add_argument("--skip-data", action="store_true", help="do not write the subset IDX files")
    p.add_argument("--seed", type=int, default=0, help="training seed (initialisation, shuffles, augmentation)")
    p.add_argument("--forget-sets", default=os.path.join(REPO, "references", "forget-sets.json"),
                   help="forget sets written by tools/forget-sets.ts")
    v = p.add_mutually_exclusive_group()
    v.add_argument("--without", default=None, metavar="SET", help="retrain without this forget set (e.g. k16-s0)")
    v.add_argument("--relabel", default=None, metavar="SET", help="retrain with this forget set relabelled to the nearest other class")
    args = p.parse_args()
    if args.out is None:
        name = f"cnn{args.width}" if args.arch == "small_cnn" else f"resnet{args.depth}-w{args.width}"
        args.out = os.path.join(REPO, "models", f"fmnist-{name}{'-aug' if args.augment else ''}")
    if args.data_out is None:
        args.data_out = DEFAULT_DATA_OUT
        if (args.n_train, args.n_test) != (DEFAULT_N_TRAIN, DEFAULT_N_TEST) and not args.skip_data:
            # Never overwrite the shipped subset with a different one by accident.
            print("non-default subset size and no --data-out: not writing the subset IDX files")
            args.skip_data = True
    train(args)


if __name__ == "__main__":
    main()
