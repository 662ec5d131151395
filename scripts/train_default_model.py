"""Train the project's default pre-trained classifier (deterministic, CPU, PyTorch) and write the
Fashion-MNIST subset it was trained on.

    /usr/bin/python3 scripts/train_default_model.py            # defaults: width 16, 40 epochs, 10k
    /usr/bin/python3 scripts/train_default_model.py --width 32 --out models/fmnist-cnn32

What it does
  * Reads Debian's Fashion-MNIST (`dataset-fashion-mnist`, MIT, /usr/share/datasets/fashion-mnist)
    with a small gzip IDX parser.
  * Subset: training images = the first N_TRAIN (10,000) indices of
    numpy.random.RandomState(0).permutation(60000); test images = the first N_TEST (5,000) indices of
    numpy.random.RandomState(0).permutation(10000). Order is the permutation order (not sorted), so
    the first n images of the subset are the subset for any smaller n.
  * Trains SmallCnn(width, 10) (scripts/reference/model.py, the twin of src/engine/zoo.ts) on the
    training subset: SGD momentum 0.9, lr 0.05 with per-step cosine decay to 0, weight decay 5e-4 on
    every parameter, batch 128 (last partial batch kept), no augmentation; inputs are pixels / 255.
    The paper's pre-trained models memorise their training data, so it trains to ~100 % train
    accuracy.
  * Deterministic: torch.manual_seed(0), numpy seed 0, torch.use_deterministic_algorithms(True),
    2 CPU threads, a seeded torch.Generator for the per-epoch shuffles.
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
from reference.model import SmallCnn, export_weights  # noqa: E402

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
def accuracy(model: SmallCnn, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
    return correct / len(x)


def train(args) -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    np.random.seed(0)
    torch.use_deterministic_algorithms(True)

    xtr_u8, ytr_u8, xte_u8, yte_u8 = load_subset(args.n_train, args.n_test)
    if not args.skip_data:
        write_data(args, xtr_u8, ytr_u8, xte_u8, yte_u8)

    xtr, ytr = to_tensor(xtr_u8), torch.from_numpy(ytr_u8.astype(np.int64))
    xte, yte = to_tensor(xte_u8), torch.from_numpy(yte_u8.astype(np.int64))
    print(f"train {tuple(xtr.shape)}  test {tuple(xte.shape)}  class counts {np.bincount(ytr_u8, minlength=10).tolist()}")

    model = SmallCnn(args.width, 10)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"SmallCnn(width={args.width}): {n_params} trainable parameters")
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)
    steps_per_epoch = (len(xtr) + args.batch - 1) // args.batch
    total_steps = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, total_steps) / total_steps)))
    gen = torch.Generator().manual_seed(0)

    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        loss_sum = 0.0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i : i + args.batch]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
        if epoch % args.log_every == 0 or epoch == args.epochs or epoch == 1:
            tr_acc, te_acc = accuracy(model, xtr, ytr), accuracy(model, xte, yte)
            print(
                f"epoch {epoch:3d}  loss {loss_sum / len(xtr):.4f}  train {tr_acc * 100:6.2f} %  "
                f"test {te_acc * 100:6.2f} %  lr {sched.get_last_lr()[0]:.5f}  {time.time() - t0:6.1f} s",
                flush=True,
            )
    elapsed = time.time() - t0
    tr_acc, te_acc = accuracy(model, xtr, ytr), accuracy(model, xte, yte)
    print(f"done in {elapsed:.1f} s: train {tr_acc * 100:.2f} %, test {te_acc * 100:.2f} % (eval mode)")
    write_export(args, model, tr_acc, te_acc, elapsed)


# ---------------------------------------------------------------- outputs
def write_data(args, xtr, ytr, xte, yte) -> None:
    out = args.data_out
    os.makedirs(out, exist_ok=True)
    write_idx_gz(os.path.join(out, "train-images-idx3-ubyte.gz"), xtr)
    write_idx_gz(os.path.join(out, "train-labels-idx1-ubyte.gz"), ytr)
    write_idx_gz(os.path.join(out, "t10k-images-idx3-ubyte.gz"), xte)
    write_idx_gz(os.path.join(out, "t10k-labels-idx1-ubyte.gz"), yte)
    print(f"wrote subset IDX files to {out}")


def write_export(args, model: SmallCnn, tr_acc: float, te_acc: float, elapsed: float) -> None:
    os.makedirs(args.out, exist_ok=True)
    weights = []
    for name, arr in export_weights(model):
        weights.append(
            {
                "name": name,
                "shape": list(arr.shape),
                "data": base64.b64encode(arr.astype("<f4").tobytes()).decode("ascii"),
            }
        )
    doc = {
        "architecture": {"kind": "small_cnn", "width": args.width, "numClasses": 10, "inputShape": [28, 28, 1]},
        "trainAccuracy": round(tr_acc, 6),
        "testAccuracy": round(te_acc, 6),
        "training": {
            "script": "scripts/train_default_model.py",
            "dataset": "Fashion-MNIST subset (see data/fashion-mnist-subset/README.md)",
            "nTrain": args.n_train,
            "nTest": args.n_test,
            "epochs": args.epochs,
            "batchSize": args.batch,
            "optimizer": f"SGD momentum 0.9, lr {args.lr} cosine to 0, weight decay {args.weight_decay}",
            "seed": 0,
            "torch": torch.__version__,
            "seconds": round(elapsed, 1),
        },
        "weights": weights,
    }
    path = os.path.join(args.out, "weights.export.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--width", type=int, default=16)
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
    args = p.parse_args()
    if args.out is None:
        args.out = os.path.join(REPO, "models", f"fmnist-cnn{args.width}")
    if args.data_out is None:
        args.data_out = DEFAULT_DATA_OUT
        if (args.n_train, args.n_test) != (DEFAULT_N_TRAIN, DEFAULT_N_TEST) and not args.skip_data:
            # Never overwrite the shipped subset with a different one by accident.
            print("non-default subset size and no --data-out: not writing the subset IDX files")
            args.skip_data = True
    train(args)


if __name__ == "__main__":
    main()
