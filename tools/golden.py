"""Golden values for the engine's unit tests, computed by the PyTorch reference in float64.

    /usr/bin/python3 tools/golden.py        # writes test/fixtures/golden.json

A tiny SmallCnn(width=2, num_classes=3) (tools/reference/model.py, the twin of the engine's
`smallCnn`) on 8x8x1 inputs, batch 4, with random weights *and* random BatchNorm gamma/beta/running
statistics (seed 1234). Every random input (weights, x, delta0, the weight perturbation) is first
rounded to float32, so the float32 tfjs engine starts from exactly the same numbers and only its
arithmetic differs. Everything is then computed in float64 (model.double()).

Layouts in the JSON (all tfjs): images NHWC; weights in tfjs layout (conv [kh,kw,in,out], dense
[in,out]) and in tfjs `model.getWeights()` order, which is trainable weights in layer order followed
by the BatchNorm moving statistics (see model.py). A tensor is {"shape": [...], "data": [flat,
row-major]}; a weight list is [{"name", "shape", "data"}]; labels are plain int lists.

Contents (key: meaning)
  weights                 theta0, every weight
  x, y, t, y_new          inputs in [0,1]; true labels; adversarial targets (t != y); relabel targets
                          (y_new = the class that is neither y nor t)
  delta0                  initial PGD perturbation, L2 norm 0.5 per example (x+delta0 may leave [0,1])
  logits_eval             f(x), eval mode (running statistics)
  logits_train            f(x), train mode (batch statistics, biased batch variance in the formula)
  pgd_grad                g = d/d delta sum_i CE(f(x_i+delta_i), t_i) at delta0, eval mode
                          (reduction SUM; the step below is invariant to that choice)
  pgd_delta, pgd_x_adv    one targeted L2 PGD step: delta0 - alpha*g/max(||g||,1e-12); then
                          clamp(x+delta,0,1)-x; then delta*min(1, eps/||delta||) (norms per example
                          over all pixels); x_adv = x + delta
  pgd_delta_10            the same step applied 10 times from delta0 (loop check)
  mas_importance          Omega = |d/d theta mean_i ||f(x_i)||_2|, train mode, trainable tensors only
  mas_weights             per tensor w = 1 - (Omega-min)/(max-min); when max == min, Omega_hat = 0 so
                          w = 1 everywhere (the tensor is treated as "not important": anchored)
  loss_naive              -CE(f(x), y), mean, train mode
  loss_adv                [b_f*(-CE(f(x_f),y_f)) + b_a*CE(f(x_a),t)]/(b_f+b_a), x_f=x[:2], y_f=y[:2],
                          x_a = pgd_x_adv (4), train mode, adversarial batch forwarded first, then the
                          forget batch, each in its own forward pass (own batch statistics);
                          loss_adv_forget_ce / loss_adv_adv_ce are the two mean CEs
  theta_perturbed         theta0 + 0.05*N(0,1) on the trainable tensors (BN moving stats unchanged)
  loss_imp_penalty        lambda * sum_params sum(w*(theta_perturbed-theta0)^2)/2, lambda=1, w=mas_weights
  loss_adv_imp_at_perturbed  loss_adv computed with the model at theta_perturbed + loss_imp_penalty
  loss_relabel            CE(f(x), y_new), mean, train mode
  sgd_losses, sgd_weights_after  torch.optim.SGD(lr 1e-3, momentum 0.9, dampening 0, weight decay
                          1e-4 on EVERY trainable tensor incl. BN gamma/beta and the dense bias,
                          nesterov off), two steps of loss_naive on (x, y) in train mode; the losses
                          before each step and every weight after (BN moving statistics updated by
                          the two train-mode forward passes)
  bn_running_var_unbiased true: PyTorch updates running_var with the UNBIASED batch variance
                          (sum sq / (n-1), n = N*H*W per channel) while it normalises with the biased
                          one; running = (1-0.1)*running + 0.1*batch (tfjs momentum 0.9).
  attack_plan             the attack plan of the PyTorch twin (tools/reference/unlearn.py,
                          engine_attack_plan, the engine's generator reimplemented) for the forget set
                          (x, y), N_adv = ATTACK["nAdv"], seed ATTACK["seed"] (generator seed
                          seed*7919+1), eps: targets, sources (example e = r*k + i, repetition-major)
                          and starts with the paper's code's random start (advertorch L2 PGD: uniform
                          image u in [0,1] minus x, scaled onto the eps-ball, ||start|| = eps here since
                          every ||u - x|| > eps), NHWC, float32
  attack_images           targeted_l2_pgd of the twin from those starts (clip to the box first), in
                          float64: ATTACK["steps"] steps, last iterate, x_adv = clip(x + delta, 0, 1)
  adversarial_batches     the twin's adversarial batch order, fixed (the paper's code): a set of
                          BATCHES["count"] examples in batches of BATCHES["batch"], for
                          BATCHES["epochs"] epochs; adversarial_batches_shuffled the same with
                          reshuffling, from the engine's generator seeded BATCHES["seed"]
"""
from __future__ import annotations

import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from reference.model import SmallCnn, export_trainable, export_weights, to_tfjs_layout  # noqa: E402
from reference.unlearn import EngineRng, Loader, engine_attack_plan, targeted_l2_pgd  # noqa: E402

OUT = os.path.join(REPO, "test", "fixtures", "golden.json")
WIDTH, CLASSES, H, W, N = 2, 3, 8, 8, 4
EPS, ALPHA, LAMBDA = 1.0, 0.1, 1.0
DELTA0_NORM = 0.5
SGD = {"lr": 1e-3, "momentum": 0.9, "weightDecay": 1e-4, "steps": 2}
ATTACK = {"seed": 3, "nAdv": 3, "steps": 10, "chunk": 5}
BATCHES = {"count": 10, "batch": 4, "epochs": 3, "seed": 7}


def f32(t: torch.Tensor) -> torch.Tensor:
    """Round to float32-representable values, keep float64."""
    return t.float().double()


def nhwc(t: torch.Tensor) -> torch.Tensor:
    return t.permute(0, 2, 3, 1)


def tensor_json(t) -> dict:
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()]}


def weights_json(named) -> list:
    return [{"name": n, "shape": list(a.shape), "data": [float(v) for v in a.ravel()]} for n, a in named]


def per_example_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


def pgd_step(model: SmallCnn, x, t, delta):
    """One targeted L2 PGD step (model must be in eval mode). Returns (new delta, gradient)."""
    delta = delta.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x + delta), t, reduction="sum")
    (g,) = torch.autograd.grad(loss, delta)
    with torch.no_grad():
        d = delta - ALPHA * g / per_example_norm(g).clamp_min(1e-12)
        d = (x + d).clamp(0.0, 1.0) - x
        d = d * torch.clamp(EPS / per_example_norm(d).clamp_min(1e-12), max=1.0)
    return d.detach(), g.detach()


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(1234)
    np.random.seed(1234)
    torch.use_deterministic_algorithms(True)

    model = SmallCnn(WIDTH, CLASSES).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(f32(p))
        for bn in model.bns:
            c = bn.num_features
            bn.weight.copy_(f32(torch.empty(c, dtype=torch.float64).uniform_(0.5, 1.5)))
            bn.bias.copy_(f32(0.2 * torch.randn(c, dtype=torch.float64)))
            bn.running_mean.copy_(f32(0.3 * torch.randn(c, dtype=torch.float64)))
            bn.running_var.copy_(f32(torch.empty(c, dtype=torch.float64).uniform_(0.5, 2.0)))

    x = f32(torch.rand(N, 1, H, W, dtype=torch.float64))
    y = torch.randint(0, CLASSES, (N,))
    t = (y + torch.randint(1, CLASSES, (N,))) % CLASSES
    y_new = 3 - y - t  # with 3 classes: the one class that is neither y nor t
    assert bool((t != y).all()) and bool((y_new != y).all()) and bool((y_new != t).all())
    d0 = torch.randn(N, 1, H, W, dtype=torch.float64)
    delta0 = f32(d0 * (DELTA0_NORM / per_example_norm(d0)))

    theta0_all = export_weights(model, dtype=np.float64)
    theta0_trainable = [p.detach().clone() for _, p in model.trainable_named_tensors()]
    names_trainable = [n for n, _ in model.trainable_named_tensors()]

    # a. logits, eval and train mode (train mode on a copy so the running stats stay put)
    model.eval()
    with torch.no_grad():
        logits_eval = model(x)
        m_tr = copy.deepcopy(model).train()
        logits_train = m_tr(x)

    # b. PGD (eval mode)
    pgd_delta, pgd_grad = pgd_step(model, x, t, delta0)
    x_adv = x + pgd_delta
    d = delta0
    for _ in range(10):
        d, _ = pgd_step(model, x, t, d)
    pgd_delta_10 = d

    # c. MAS importance (train mode, batch statistics, on a copy)
    m = copy.deepcopy(model).train()
    out = m(x)
    mas_obj = out.norm(dim=1).mean()
    grads = torch.autograd.grad(mas_obj, [p for _, p in m.trainable_named_tensors()])
    omegas = [g.abs() for g in grads]
    mas_w = []
    for om in omegas:
        lo, hi = om.min(), om.max()
        om_hat = (om - lo) / (hi - lo) if hi > lo else torch.zeros_like(om)  # max == min: w = 1
        mas_w.append(1.0 - om_hat)
    mas_importance = [(n, to_tfjs_layout(n, o, np.float64)) for n, o in zip(names_trainable, omegas)]
    mas_weights = [(n, to_tfjs_layout(n, w_, np.float64)) for n, w_ in zip(names_trainable, mas_w)]

    # d. losses (train mode, a fresh copy each)
    def fresh():
        return copy.deepcopy(model).train()

    with torch.no_grad():
        loss_naive = -F.cross_entropy(fresh()(x), y)

        def adv_loss(net):
            ce_adv = F.cross_entropy(net(x_adv), t)  # adversarial batch first
            ce_forget = F.cross_entropy(net(x[:2]), y[:2])  # then the forget batch
            b_f, b_a = 2, N
            return (b_f * (-ce_forget) + b_a * ce_adv) / (b_f + b_a), ce_forget, ce_adv

        loss_adv, ce_forget, ce_adv = adv_loss(fresh())

        m_pert = fresh()
        for (_, p) in m_pert.trainable_named_tensors():
            p.add_(0.05 * torch.randn_like(p))
            p.copy_(f32(p))
        penalty = sum(
            (w_ * (p - p0) ** 2).sum() for w_, (_, p), p0 in zip(mas_w, m_pert.trainable_named_tensors(), theta0_trainable)
        )
        loss_imp_penalty = LAMBDA * penalty / 2
        theta_perturbed = export_weights(m_pert, dtype=np.float64)
        loss_adv_pert, _, _ = adv_loss(m_pert)
        loss_adv_imp = loss_adv_pert + loss_imp_penalty

        loss_relabel = F.cross_entropy(fresh()(x), y_new)

    # e. two SGD steps of the naive loss (train mode)
    m_sgd = fresh()
    opt = torch.optim.SGD(m_sgd.parameters(), lr=SGD["lr"], momentum=SGD["momentum"], weight_decay=SGD["weightDecay"])
    sgd_losses = []
    for _ in range(SGD["steps"]):
        loss = -F.cross_entropy(m_sgd(x), y)
        sgd_losses.append(float(loss))
        opt.zero_grad()
        loss.backward()
        opt.step()
    sgd_after = export_weights(m_sgd, dtype=np.float64)

    # f. the attack plan (the paper's code's random start) and a short attack from it, eval mode
    x_nhwc = nhwc(x).numpy().astype(np.float32)
    plan_t, plan_s, plan_starts = engine_attack_plan(y.numpy(), ATTACK["nAdv"], CLASSES, H * W, EPS, ATTACK["seed"], x_nhwc, "uniform-image")
    start_norms = np.sqrt((plan_starts.astype(np.float64) ** 2).sum(axis=1))
    assert np.allclose(start_norms, EPS, atol=1e-5), start_norms
    starts_nchw = torch.from_numpy(plan_starts.reshape(-1, H, W, 1)).permute(0, 3, 1, 2).double()
    attack_images, _ = targeted_l2_pgd(copy.deepcopy(model), x[torch.from_numpy(plan_s)], torch.from_numpy(plan_t), starts_nchw, EPS, ALPHA, ATTACK["steps"], ATTACK["chunk"])

    # g. the adversarial batch order: fixed, and reshuffled each epoch
    def batches(shuffle: bool) -> list:
        loader = Loader(BATCHES["count"], BATCHES["batch"], EngineRng(BATCHES["seed"]), shuffle)
        return [loader.next() for _ in range(BATCHES["epochs"] * loader.batches_per_epoch)]

    doc = {
        "description": "Golden values from tools/golden.py (PyTorch float64 reference); see its header.",
        "architecture": {"kind": "small_cnn", "width": WIDTH, "numClasses": CLASSES, "inputShape": [H, W, 1]},
        "config": {
            "eps": EPS,
            "alpha": ALPHA,
            "lambda": LAMBDA,
            "delta0Norm": DELTA0_NORM,
            "sgd": SGD,
            "bnEpsilon": 1e-5,
            "bnMomentumPytorch": 0.1,
            "bnMomentumTfjs": 0.9,
            "pgdLossReduction": "sum",
            "masMaxEqualsMin": "Omega_hat = 0, so w = 1",
            "advBatchSizes": {"forget": 2, "adversarial": N},
            "thetaPerturbationStd": 0.05,
            "weightOrder": "tfjs getWeights(): trainable in layer order, then BN moving_mean/moving_variance per block",
            "attack": {**ATTACK, "randomStart": "uniform-image"},
            "batches": BATCHES,
        },
        "bn_running_var_unbiased": True,
        "weights": weights_json(theta0_all),
        "x": tensor_json(nhwc(x)),
        "y": y.tolist(),
        "t": t.tolist(),
        "y_new": y_new.tolist(),
        "delta0": tensor_json(nhwc(delta0)),
        "logits_eval": tensor_json(logits_eval),
        "logits_train": tensor_json(logits_train),
        "pgd_grad": tensor_json(nhwc(pgd_grad)),
        "pgd_delta": tensor_json(nhwc(pgd_delta)),
        "pgd_x_adv": tensor_json(nhwc(x_adv)),
        "pgd_delta_10": tensor_json(nhwc(pgd_delta_10)),
        "mas_objective": float(mas_obj),
        "mas_importance": weights_json(mas_importance),
        "mas_weights": weights_json(mas_weights),
        "loss_naive": float(loss_naive),
        "loss_adv": float(loss_adv),
        "loss_adv_forget_ce": float(ce_forget),
        "loss_adv_adv_ce": float(ce_adv),
        "theta_perturbed": weights_json(theta_perturbed),
        "loss_imp_penalty": float(loss_imp_penalty),
        "loss_adv_imp_at_perturbed": float(loss_adv_imp),
        "loss_relabel": float(loss_relabel),
        "sgd_losses": sgd_losses,
        "sgd_weights_after": weights_json(sgd_after),
        "attack_plan": {"targets": plan_t.tolist(), "sources": plan_s.tolist(), "starts": tensor_json(plan_starts.reshape(-1, H, W, 1))},
        "attack_images": tensor_json(nhwc(attack_images)),
        "adversarial_batches": batches(False),
        "adversarial_batches_shuffled": batches(True),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print(f"wrote {OUT}")
    print("keys:", list(doc.keys()))
    print(
        f"loss_naive {float(loss_naive):.6f}  loss_adv {float(loss_adv):.6f}  penalty {float(loss_imp_penalty):.6f}  "
        f"relabel {float(loss_relabel):.6f}  pgd ||delta|| {per_example_norm(pgd_delta).flatten().tolist()}"
    )


if __name__ == "__main__":
    main()
