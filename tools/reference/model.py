"""PyTorch twin of the engine's `smallCnn` (tools/zoo.ts), used by the training script and the
golden-fixture generator.

    SmallCnn(width, num_classes, in_channels=1)

Four blocks conv3x3 (no bias) -> BatchNorm (eps 1e-5, momentum 0.1) -> ReLU with filters
[w, 2w, 2w, 4w] and strides [1, 2, 1, 2], then global average pooling and a Dense layer with bias.
Inputs are NCHW here, values in [0, 1] (no normalisation; the engine feeds NHWC).

Padding reproduces TensorFlow's 'same' rule exactly: for each spatial axis of size n with stride s
and kernel k, out = ceil(n / s), total = max((out - 1) * s + k - n, 0), top/left = total // 2 and
bottom/right = total - total // 2. For k = 3 that is 1/1 at stride 1 and 0/1 at stride 2 on even
sizes (28 -> 14, 14 -> 7), which PyTorch's symmetric `padding=` cannot express, so every conv pads
explicitly with F.pad and then convolves with padding=0.

`export_weights` / `import_weights` convert to and from the tfjs layout and the order of
`model.getWeights()` / `model.setWeights()`. NOTE: a tfjs LayersModel lists its weights as
`trainableWeights.concat(nonTrainableWeights)` (tfjs-layers Container.weights), so the order is NOT
interleaved per block; it is
    conv1/kernel, bn1/gamma, bn1/beta, conv2/kernel, bn2/gamma, bn2/beta, ..., bn4/beta,
    logits/kernel, logits/bias,                                   (trainable, layer order)
    bn1/moving_mean, bn1/moving_variance, ..., bn4/moving_variance (non-trainable, layer order)
(checked against @tensorflow/tfjs-layers in node_modules). Per-layer order (conv, gamma, beta,
mean, variance per block) is available as `export_weights(model, order="per_layer")`.
Shapes: conv kernels [3,3,in,out]; BN vectors [out]; logits/kernel [c, classes]; logits/bias [classes].

`ResNet(depth, width, num_classes)` is the CIFAR-style residual net (depth 6n + 2) of zoo.ts `resNet`;
its weights follow the same rule (trainable in layer order, then the BatchNorm statistics), named
as in its docstring. `build_model(architecture)` makes either from an export's "architecture".

Run with /usr/bin/python3 (PyTorch 1.13 CPU). `python3 tools/reference/model.py` runs a self-check.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def block_specs(width: int) -> List[Tuple[int, int]]:
    """(filters, stride) per block, as SMALL_CNN_BLOCKS in zoo.ts."""
    return [(width, 1), (2 * width, 2), (2 * width, 1), (4 * width, 2)]


def tf_same_pads(size: int, kernel: int, stride: int) -> Tuple[int, int]:
    """(before, after) padding TensorFlow's 'same' uses along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class TfSameConv2d(nn.Conv2d):
    """3x3 conv without bias, padded as TF 'same'."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, kernel: int = 3):
        super().__init__(in_channels, out_channels, kernel, stride=stride, padding=0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D401
        kh, kw = self.kernel_size
        sh, sw = self.stride
        top, bottom = tf_same_pads(x.shape[-2], kh, sh)
        left, right = tf_same_pads(x.shape[-1], kw, sw)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, None, self.stride, 0)


class SmallCnn(nn.Module):
    def __init__(self, width: int, num_classes: int, in_channels: int = 1):
        super().__init__()
        self.width = width
        self.num_classes = num_classes
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        c_in = in_channels
        for filters, stride in block_specs(width):
            self.convs.append(TfSameConv2d(c_in, filters, stride))
            self.bns.append(nn.BatchNorm2d(filters, eps=1e-5, momentum=0.1))
            c_in = filters
        self.logits = nn.Linear(c_in, num_classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: NCHW in [0, 1]. Returns logits [N, num_classes]."""
        for conv, bn in zip(self.convs, self.bns):
            x = F.relu(bn(conv(x)))
        x = x.mean(dim=(2, 3))
        return self.logits(x)

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """Convenience: x in the engine's NHWC layout."""
        return self.forward(x.permute(0, 3, 1, 2))

    def trainable_named_tensors(self) -> List[Tuple[str, torch.Tensor]]:
        """Trainable parameters in tfjs order with tfjs names (PyTorch layout tensors)."""
        out: List[Tuple[str, torch.Tensor]] = []
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns), start=1):
            out.append((f"conv{i}/kernel", conv.weight))
            out.append((f"bn{i}/gamma", bn.weight))
            out.append((f"bn{i}/beta", bn.bias))
        out.append(("logits/kernel", self.logits.weight))
        out.append(("logits/bias", self.logits.bias))
        return out


class BasicBlock(nn.Module):
    """conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN, plus the shortcut (identity, or a 1x1 conv
    with the block's stride -> BN when the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = TfSameConv2d(c_in, c_out, stride)
        self.bn1 = nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.1)
        self.conv2 = TfSameConv2d(c_out, c_out, 1)
        self.bn2 = nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.1)
        self.proj = TfSameConv2d(c_in, c_out, stride, kernel=1) if (stride != 1 or c_in != c_out) else None
        self.proj_bn = nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.1) if self.proj is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        s = self.proj_bn(self.proj(x)) if self.proj is not None else x
        return F.relu(h + s)


class ResNet(nn.Module):
    """CIFAR-style ResNet (He et al. 2016, depth = 6n + 2) for 28x28 inputs: stem conv3x3(w) -> BN ->
    ReLU, three stages of n BasicBlocks with widths w, 2w, 4w and first strides 1, 2, 2 (28 -> 14 -> 7),
    projection shortcuts (1x1 conv + BN) where the shape changes, global average pooling, Dense.

    tfjs names (tools/zoo.ts `resNet`): stem conv1/bn1; block j of stage i is s{i}b{j}_conv1,
    s{i}b{j}_bn1, s{i}b{j}_conv2, s{i}b{j}_bn2, s{i}b{j}_proj, s{i}b{j}_proj_bn; logits."""

    def __init__(self, depth: int, width: int, num_classes: int, in_channels: int = 1):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"ResNet depth must be 6n + 2 (8, 14, 20, ...), got {depth}")
        self.depth, self.width, self.num_classes = depth, width, num_classes
        n = (depth - 2) // 6
        self.conv1 = TfSameConv2d(in_channels, width, 1)
        self.bn1 = nn.BatchNorm2d(width, eps=1e-5, momentum=0.1)
        self.blocks = nn.ModuleList()
        self.block_names: List[str] = []
        c_in = width
        for stage, (c_out, first_stride) in enumerate([(width, 1), (2 * width, 2), (4 * width, 2)], start=1):
            for j in range(1, n + 1):
                self.blocks.append(BasicBlock(c_in, c_out, first_stride if j == 1 else 1))
                self.block_names.append(f"s{stage}b{j}")
                c_in = c_out
        self.logits = nn.Linear(c_in, num_classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        for block in self.blocks:
            x = block(x)
        return self.logits(x.mean(dim=(2, 3)))

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x.permute(0, 3, 1, 2))

    def _layers(self) -> List[Tuple[str, nn.Module]]:
        """(tfjs layer name, module) for every conv / BN / dense layer, in the tfjs model's layer order."""
        out: List[Tuple[str, nn.Module]] = [("conv1", self.conv1), ("bn1", self.bn1)]
        for name, b in zip(self.block_names, self.blocks):
            out += [(f"{name}_conv1", b.conv1), (f"{name}_bn1", b.bn1), (f"{name}_conv2", b.conv2), (f"{name}_bn2", b.bn2)]
            if b.proj is not None:
                out += [(f"{name}_proj", b.proj), (f"{name}_proj_bn", b.proj_bn)]
        out.append(("logits", self.logits))
        return out

    def trainable_named_tensors(self) -> List[Tuple[str, torch.Tensor]]:
        out: List[Tuple[str, torch.Tensor]] = []
        for name, m in self._layers():
            if isinstance(m, nn.BatchNorm2d):
                out += [(f"{name}/gamma", m.weight), (f"{name}/beta", m.bias)]
            elif isinstance(m, nn.Linear):
                out += [(f"{name}/kernel", m.weight), (f"{name}/bias", m.bias)]
            else:
                out.append((f"{name}/kernel", m.weight))
        return out

    def stat_named_tensors(self) -> List[Tuple[str, torch.Tensor]]:
        out: List[Tuple[str, torch.Tensor]] = []
        for name, m in self._layers():
            if isinstance(m, nn.BatchNorm2d):
                out += [(f"{name}/moving_mean", m.running_mean), (f"{name}/moving_variance", m.running_var)]
        return out


def build_model(arch: dict) -> nn.Module:
    """The architecture described by a weights.export.json "architecture" object."""
    kind = arch.get("kind", "small_cnn")
    in_channels = arch.get("inputShape", [28, 28, 1])[2]
    if kind == "small_cnn":
        return SmallCnn(arch["width"], arch["numClasses"], in_channels)
    if kind == "resnet":
        return ResNet(arch["depth"], arch["width"], arch["numClasses"], in_channels)
    raise ValueError(f"unknown architecture kind {kind!r}")


def _all_named_tensors(model: SmallCnn, order: str = "tfjs") -> List[Tuple[str, torch.Tensor]]:
    """Every weight (trainable + BN running stats), PyTorch layout.

    order="tfjs": tfjs getWeights() order (trainable in layer order, then BN moving statistics).
    order="per_layer": conv kernel, gamma, beta, moving_mean, moving_variance per block, then dense.
    """
    if isinstance(model, ResNet):
        if order != "tfjs":
            raise ValueError("per_layer order is only defined for SmallCnn")
        return model.trainable_named_tensors() + model.stat_named_tensors()
    stats: List[Tuple[str, torch.Tensor]] = []
    for i, bn in enumerate(model.bns, start=1):
        stats.append((f"bn{i}/moving_mean", bn.running_mean))
        stats.append((f"bn{i}/moving_variance", bn.running_var))
    if order == "tfjs":
        return model.trainable_named_tensors() + stats
    if order == "per_layer":
        out: List[Tuple[str, torch.Tensor]] = []
        for i, (conv, bn) in enumerate(zip(model.convs, model.bns), start=1):
            out += [(f"conv{i}/kernel", conv.weight), (f"bn{i}/gamma", bn.weight), (f"bn{i}/beta", bn.bias)]
            out += stats[2 * (i - 1) : 2 * i]
        return out + [("logits/kernel", model.logits.weight), ("logits/bias", model.logits.bias)]
    raise ValueError(f"unknown order {order!r}")


def to_tfjs_layout(name: str, t: torch.Tensor, dtype=np.float32) -> np.ndarray:
    """Convert one PyTorch-layout tensor to the tfjs layout for the weight called `name`."""
    a = t.detach().cpu()
    if name.endswith("/kernel") and a.dim() == 4:  # conv [out,in,kh,kw] -> [kh,kw,in,out]
        a = a.permute(2, 3, 1, 0)
    elif name.endswith("/kernel") and a.dim() == 2:  # dense [out,in] -> [in,out]
        a = a.t()
    return np.ascontiguousarray(a.numpy().astype(dtype))


def from_tfjs_layout(name: str, a: np.ndarray) -> torch.Tensor:
    """Inverse of `to_tfjs_layout` (returns a float64 CPU tensor; caller casts)."""
    t = torch.from_numpy(np.asarray(a, dtype=np.float64).copy())
    if name.endswith("/kernel") and t.dim() == 4:  # [kh,kw,in,out] -> [out,in,kh,kw]
        t = t.permute(3, 2, 0, 1)
    elif name.endswith("/kernel") and t.dim() == 2:
        t = t.t()
    return t.contiguous()


def export_weights(model: SmallCnn, dtype=np.float32, order: str = "tfjs") -> List[Tuple[str, np.ndarray]]:
    """All weights as (name, array) in tfjs layout; tfjs getWeights() order unless order="per_layer"."""
    return [(name, to_tfjs_layout(name, t, dtype)) for name, t in _all_named_tensors(model, order)]


def export_trainable(model: SmallCnn, dtype=np.float32) -> List[Tuple[str, np.ndarray]]:
    """Trainable weights only (conv kernels, BN gamma/beta, dense kernel/bias), tfjs layout/order."""
    return [(name, to_tfjs_layout(name, t, dtype)) for name, t in model.trainable_named_tensors()]


def import_weights(model: SmallCnn, arrays: Sequence) -> None:
    """Load tfjs-layout weights into `model` in place.

    `arrays` is either a list of plain arrays in tfjs getWeights() order, or a list of
    (name, array) pairs (any order; matched by name, every weight required exactly once).
    """
    targets = _all_named_tensors(model)
    if len(arrays) != len(targets):
        raise ValueError(f"expected {len(targets)} arrays, got {len(arrays)}")
    if all(isinstance(item, tuple) for item in arrays):
        by_name = dict(arrays)
        missing = [n for n, _ in targets if n not in by_name]
        if missing or len(by_name) != len(targets):
            raise ValueError(f"weight names do not match the model (missing {missing})")
        pairs = [(name, tensor, by_name[name]) for name, tensor in targets]
    else:
        pairs = [(name, tensor, arr) for (name, tensor), arr in zip(targets, arrays)]
    with torch.no_grad():
        for name, tensor, arr in pairs:
            src = from_tfjs_layout(name, arr)
            if tuple(src.shape) != tuple(tensor.shape):
                raise ValueError(f"{name}: shape {tuple(src.shape)} != {tuple(tensor.shape)}")
            tensor.copy_(src.to(tensor.dtype))


if __name__ == "__main__":
    torch.manual_seed(0)
    m = SmallCnn(4, 3)
    x = torch.rand(2, 1, 28, 28)
    shapes = []
    h = x
    for conv, bn in zip(m.convs, m.bns):
        h = conv(h)
        shapes.append(tuple(h.shape))
    assert shapes == [(2, 4, 28, 28), (2, 8, 14, 14), (2, 8, 14, 14), (2, 16, 7, 7)], shapes
    w = export_weights(m)
    m2 = SmallCnn(4, 3)
    import_weights(m2, w)
    m.eval(), m2.eval()
    assert torch.equal(m(x), m2(x))
    m3 = SmallCnn(4, 3)
    import_weights(m3, export_weights(m, order="per_layer"))  # by name, any order
    m3.eval()
    assert torch.equal(m(x), m3(x))
    r = ResNet(8, 4, 3)
    assert r(x).shape == (2, 3), r(x).shape
    r2 = ResNet(8, 4, 3)
    import_weights(r2, export_weights(r))
    r.eval(), r2.eval()
    assert torch.equal(r(x), r2(x))
    print("resnet8 w4:", sum(p.numel() for p in r.parameters()), "params;", "resnet20 w16:", sum(p.numel() for p in ResNet(20, 16, 10).parameters()))
    print("ok:", [(n, a.shape) for n, a in w])
