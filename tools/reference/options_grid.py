"""The options grid (docs/grid.md) on a SHIPPED model, on the CPU: the paper preset and each forget-term
option, k in {1, 16, 64, 128} x seeds 0-2, through the PyTorch twin of the engine (unlearn.py `run`,
in process). Cells run in priority order (the paper preset first, then the options); each finished
run is appended at once to the JSONL, so a grid cut short keeps what it did, and a rerun skips the
cells already in the file. `--shard i/n` splits the cells between processes (by forget set, so each
adversarial set is computed once; one torch thread each runs faster on 2 cores than one process with
2 threads).

    /usr/bin/python3 tools/reference/options_grid.py --model fmnist-resnet8-w16-aug \\
        --out docs/grid-resnet8.jsonl --shard 0/2 --budget 7200 &
    /usr/bin/python3 tools/reference/options_grid.py --model fmnist-resnet8-w16-aug \\
        --out docs/grid-resnet8.jsonl --shard 1/2 --budget 7200 &
    /usr/bin/python3 tools/reference/options_grid.py --summary docs/grid-resnet8.jsonl   # the table

Forget sets and guard probes are the engine's (grid.py: forget_indices, probe_indices). Every run
has the guard on: `report` for the paper preset and the options (it only watches), `stop` for the
`bounded` preset (as src/contracts/options.ts). The epoch cap is the paper's 1,000; a wall-clock cap
per run (--max-seconds) keeps one stalled option from eating the grid, and a run that hits it says
`time-cap`. The adversarial set of a (k, seed) is computed once and shared by the runs that need it
(unlearn.run's attack_cache); each row's seconds still count the attack.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from grid import PRESETS, forget_indices, probe_indices  # noqa: E402

METHODS = ("naive", "adv", "imp", "adv+imp")
REPORT = ["--guard-action", "report"]
# name -> unlearn.py arguments. "paper" and "bounded" are src/contracts/options.ts PRESETS; the others
# are its single options, each against the paper preset (guard watching only).
OPTIONS: Dict[str, List[str]] = {
    "paper": REPORT,
    "bounded": PRESETS["bounded"],
    "margin 0.5": ["--forget-term", "margin", "--stop-margin", "0.5"] + REPORT,
    "nearest-ce": ["--forget-term", "nearest-ce"] + REPORT,
    "remembered-ce": ["--forget-term", "remembered-ce"] + REPORT,
    "running statistics": ["--forget-statistics", "running"] + REPORT,
}


def plan() -> List[dict]:
    """Cells in priority order."""
    cells: List[dict] = []
    for k in (16, 64, 1, 128):
        for seed in (0, 1, 2):
            for method in METHODS:
                cells.append(dict(k=k, seed=seed, method=method, option="paper"))
    for option in ("bounded", "margin 0.5", "nearest-ce", "remembered-ce", "running statistics"):
        for k in (16, 1, 64, 128):
            for seed in (0, 1, 2):
                for method in ("adv+imp", "naive"):
                    cells.append(dict(k=k, seed=seed, method=method, option=option))
    for option in ("bounded", "margin 0.5", "nearest-ce", "remembered-ce", "running statistics"):
        for k in (16, 1, 64, 128):
            for seed in (0, 1, 2):
                for method in ("adv", "imp"):
                    cells.append(dict(k=k, seed=seed, method=method, option=option))
    return cells


class AttackCache(dict):
    """unlearn.run's attack_cache, also kept on disk (one file per forget set and attack options of one
    model), so that a grid resumed in another process or session does not redo an attack. Only a cache:
    delete the folder and the attacks are computed again, with the same result (seeded)."""

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def _file(self, key: tuple) -> str:
        import hashlib
        return os.path.join(self.folder, hashlib.sha256(repr(key).encode()).hexdigest()[:24] + ".pt")

    def __contains__(self, key: object) -> bool:
        if super().__contains__(key):
            return True
        f = self._file(key)  # type: ignore[arg-type]
        if not os.path.exists(f):
            return False
        import torch
        super().__setitem__(key, tuple(torch.load(f)))
        return True

    def __setitem__(self, key: tuple, value: tuple) -> None:
        import torch
        super().__setitem__(key, value)
        os.makedirs(self.folder, exist_ok=True)
        tmp = self._file(key) + ".tmp"
        torch.save(list(value), tmp)
        os.replace(tmp, self._file(key))


def key(row: dict) -> tuple:
    return (row["model"], row["k"], row["seed"], row["method"], row["option"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="fmnist-resnet8-w16-aug", help="a folder under models/")
    ap.add_argument("--out", default="")
    ap.add_argument("--shard", default="0/1", help="i/n: run every n-th cell starting at i")
    ap.add_argument("--budget", type=float, default=3600, help="seconds; no new run starts after this")
    ap.add_argument("--max-seconds", type=float, default=900, help="wall-clock cap on one paper-preset run's SGD loop")
    ap.add_argument("--option-max-seconds", type=float, default=180, help="the same for the options (a stalled bounded term runs to it)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="", help="comma list of options to run (default: all, in priority order)")
    ap.add_argument("--k", default="", help="comma list of k to run (default: all)")
    ap.add_argument("--methods", default="", help="comma list of methods to run (default: all)")
    ap.add_argument("--summary", default="", help="print the markdown table of a grid JSONL and exit")
    ap.add_argument("--by-seed", default="", help="print the paper preset's runs of a grid JSONL as k x seed rows, a column per method, and exit")
    args = ap.parse_args()
    if args.summary:
        print(summary(args.summary))
        return 0
    if args.by_seed:
        print(by_seed(args.by_seed))
        return 0
    import torch
    from unlearn import build_parser, load_split, load_tfjs_model, run

    torch.set_num_threads(args.threads)
    shard_i, shard_n = (int(v) for v in args.shard.split("/"))
    t_start = time.time()
    data = os.path.join(ROOT, "data/fashion-mnist-subset")
    xtr, ytr = load_split(data, "train")
    xte, yte = load_split(data, "t10k")
    pretrained = load_tfjs_model(os.path.join(ROOT, "models", args.model, "model.json"))
    def done(cap_s: float) -> set:
        """Cells already in the file, unless stopped by a shorter wall-clock cap than this one (then rerun; the summary keeps the last row)."""
        if not os.path.exists(args.out):
            return set()
        with open(args.out, encoding="utf8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        return {key(r) for r in rows if not (r["stopped"] == "time-cap" and r["max_seconds"] < cap_s)}

    only = set(args.only.split(",")) if args.only else None
    ks = {int(v) for v in args.k.split(",")} if args.k else None
    # Shard by forget set, so that the runs sharing an adversarial set run in one process (one attack):
    # the most expensive forget sets first, each to the least loaded shard (cost ~ the attack's size).
    pairs = sorted({(c["k"], c["seed"]) for c in plan()}, key=lambda p: (-p[0], p[1]))
    load = [0] * shard_n
    owner = {}
    for p in pairs:
        i = min(range(shard_n), key=lambda j: (load[j], j))
        owner[p] = i
        load[i] += max(1, p[0])
    cells = [c for c in plan() if owner[(c["k"], c["seed"])] == shard_i]
    cells = [c for c in cells if (only is None or c["option"] in only) and (ks is None or c["k"] in ks) and (args.methods == "" or c["method"] in args.methods.split(","))]
    cache = AttackCache(os.path.join(ROOT, ".cache", "grid-attacks", args.model))
    print(f"[{args.model} shard {args.shard}] {len(cells)} cells to run", file=sys.stderr, flush=True)
    for c in cells:
        left = args.budget - (time.time() - t_start)
        if left <= 0:
            break
        cap_s = args.max_seconds if c["option"] == "paper" else args.option_max_seconds
        if (args.model, c["k"], c["seed"], c["method"], c["option"]) in done(cap_s):  # another process may have run it
            continue
        fi = forget_indices(c["k"], c["seed"])
        pi = probe_indices(fi, c["seed"])
        argv = ["--forget-indices", "0", "--method", c["method"], "--seed", str(c["seed"]), "--max-epochs", "1000",
                "--max-seconds", str(cap_s), "--threads", str(args.threads)] + OPTIONS[c["option"]]
        a = build_parser().parse_args(argv)
        t0 = time.time()
        r = run(a, copy.deepcopy(pretrained), xtr, ytr, xte, yte, fi, pi, attack_cache=cache)
        row = {"model": args.model, "k": c["k"], "seed": c["seed"], "method": c["method"], "option": c["option"],
               "args": OPTIONS[c["option"]], "max_epochs": 1000, "max_seconds": cap_s, "before": r["before"],
               "after": {"test": r["test_after"], "retain": r["retain_after"], "forget": r["forget_after"]},
               "steps": r["steps"], "stopped": r["stopped"], "remembered": r["remembered"], "seconds": r["seconds"]["total"],
               "phase_seconds": r["seconds"], "wall_seconds": time.time() - t0, "guard": r.get("guard"),
               "attack_success": r.get("attack_success"), "device": f"cpu, torch {torch.__version__}, {args.threads} thread(s)",
               "forget_indices": fi,
               # Rows without this field were measured when the guard pooled its parts (before 2026-11-28 13:58 UTC).
               "guard_rule": "lowest part"}
        with open(args.out, "a", encoding="utf8") as f:
            f.write(json.dumps(row) + "\n")
        g = row["guard"] or {}
        print(f"[{time.time() - t_start:7.0f}s] {args.model} k={c['k']} s={c['seed']} {c['method']} [{c['option']}]: "
              f"test {r['before']['test']:.3f}->{r['test_after']:.3f} forget {r['forget_after']:.3f} steps {r['steps']} {r['stopped']} "
              f"guard-min {g.get('min_agreement', '-')} {row['seconds']:.0f}s", file=sys.stderr, flush=True)
    return 0


def mean_std(values: List[float]) -> str:
    m = sum(values) / len(values)
    if len(values) < 2:
        return f"{m:.1f}"
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{m:.1f} ± {s:.1f}"


def load(path: str) -> List[dict]:
    """The rows of a grid JSONL, the last one of each cell (a rerun with a longer cap supersedes a time-capped row)."""
    last: Dict[tuple, dict] = {}
    for line in open(path, encoding="utf8"):
        if line.strip():
            r = json.loads(line)
            last[key(r)] = r
    return list(last.values())


def by_seed(path: str, option: str = "paper") -> str:
    """test accuracy after (change in points), SGD steps, and how it stopped when not 'forgotten'."""
    rows = load(path)
    rows = [r for r in rows if r["option"] == option]
    out = ["| k | seed | " + " | ".join(METHODS) + " |", "|---|---|" + "---|" * len(METHODS)]
    for k, seed in sorted({(r["k"], r["seed"]) for r in rows}):
        cells = []
        for m in METHODS:
            r = next((r for r in rows if r["k"] == k and r["seed"] == seed and r["method"] == m), None)
            if r is None:
                cells.append("not run")
                continue
            a, b = r["after"]["test"], r["before"]["test"]
            note = "" if r["stopped"] == "forgotten" else f", {r['stopped']} ({r['remembered']} of {k} left)"
            cells.append(f"{100 * a:.1f} % ({100 * (a - b):+.1f}), {r['steps']}{note}".replace("-", "−"))
        out.append(f"| {k} | {seed} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def summary(path: str) -> str:
    rows = load(path)
    groups: Dict[tuple, List[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], list(OPTIONS).index(r["option"]), r["option"], r["k"], METHODS.index(r["method"]), r["method"]), []).append(r)
    out = ["| model | option | k | method | seeds | test drop (pts) | retain drop (pts) | forget after (%) | steps | stopped | guard min agreement (%) | seconds |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (model, _, option, k, _, method), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["seed"])
        out.append("| " + " | ".join([
            model, option, str(k), method, ",".join(str(r["seed"]) for r in rs),
            mean_std([100 * (r["before"]["test"] - r["after"]["test"]) for r in rs]),
            mean_std([100 * (r["before"]["retain"] - r["after"]["retain"]) for r in rs]),
            mean_std([100 * r["after"]["forget"] for r in rs]),
            mean_std([r["steps"] for r in rs]).replace(".0", ""),
            ",".join(r["stopped"] for r in rs),
            ",".join(f"{100 * r['guard']['min_agreement']:.0f}" if r.get("guard") else "-" for r in rs),
            mean_std([r["seconds"] for r in rs]),
        ]) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
