"""Low-bit weights for the joint intent + slot model: fake quantisers for training, and the squashing
reparameterisation with its regulariser (docs/decisions.md 41).

Every quantised weight matrix (each Linear and the token embedding) is stored as ``bits``-bit codes ``k`` and one
scale ``alpha`` per output row. The codes stand for the *mid-rise* levels of a uniform grid over [-alpha, alpha]:

    level(k) = alpha * (2k + 1 - 2^bits) / 2^bits,   k = 0 .. 2^bits - 1

(2 bits: +-alpha/4 and +-3alpha/4). Zero is not a level; with 2 bits that leaves four useful levels rather than the
three a grid with zero gives. As integers the levels are the odd numbers 2k + 1 - 2^bits, so any of them up to
4 bits is an int8 weight with scale alpha / 2^bits, which is how lowbit_export.py runs them.

Three ways to train such weights:

* ``plain``: quantisation-aware training of the weights themselves. The forward pass uses the rounded weight
  ``alpha * Q(clip(w / alpha))``, the gradient passes the rounding unchanged (straight-through estimator), and
  ``alpha`` learns too, as in LSQ. Trained weights stay bell-shaped, so the outer levels serve a few weights.
* ``squash``: the weight is ``alpha * tanh(v)``, and ``v`` is what SGD updates. tanh bounds every weight inside
  the grid, and it shrinks the gradient of weights near the bounds, so outliers cannot grow past it. A regulariser
  on each row's mean and standard deviation of ``v`` pulls them to 0 and pi / sqrt(12). With those moments,
  tanh(v) is close to uniform on (-1, 1): if u is uniform, atanh(u) has mean 0 and exactly that deviation. A
  uniform weight distribution is the one a uniform grid quantises with the least error and with every code
  equally used.
* ``none``: the float weights (for the fp32 model and post-training rounding).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["MODES", "TARGET_STD", "unit_codes", "unit_levels", "fit_alpha", "PlainQuant", "Squash", "attach",
           "detach", "squash_penalty", "squashed_parameters", "quantised_modules", "codes_and_scales", "quantised_weights"]

MODES = ("plain", "squash")
#: the standard deviation of atanh(u) for u uniform on (-1, 1): sqrt(pi^2 / 12)
TARGET_STD = math.pi / math.sqrt(12.0)
_EDGE = 0.995  # weights at or beyond alpha start at |v| = atanh(0.995), about 3: clipped, as in rounding, but not so
# far out that they alone inflate the spread the regulariser reads (at |v| = 5, 2-bit rows started at std 1.2)


def unit_codes(u: torch.Tensor, bits: int) -> torch.Tensor:
    """Codes 0 .. 2^bits - 1 of values ``u`` in [-1, 1] on the mid-rise grid (nearest level)."""
    n = 2 ** bits
    return torch.clamp(torch.floor((u + 1.0) * (n / 2.0)), 0, n - 1)


def unit_levels(codes: torch.Tensor, bits: int) -> torch.Tensor:
    n = 2 ** bits
    return (2.0 * codes + 1.0 - n) / n


def _round_ste(u: torch.Tensor, bits: int) -> torch.Tensor:
    """``u`` on the grid in the forward pass, the identity in the backward pass."""
    return u + (unit_levels(unit_codes(u, bits), bits) - u).detach()


def fit_alpha(w: torch.Tensor, bits: int, grid: int = 48) -> torch.Tensor:
    """Per row of ``w``, the clipping range alpha whose grid rounds the row with the least squared error
    (searched from 0.2 to 1.0 times the row's largest magnitude): the starting alpha of plain QAT and the
    post-training baseline."""
    top = w.abs().amax(dim=1, keepdim=True).clamp_min(1e-8)
    best_err = torch.full_like(top, float("inf"))
    best = top.clone()
    for f in torch.linspace(0.2, 1.0, grid):
        alpha = top * f
        q = alpha * unit_levels(unit_codes(torch.clamp(w / alpha, -1, 1), bits), bits)
        err = ((q - w) ** 2).sum(dim=1, keepdim=True)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best = torch.where(better, alpha, best)
    return best


class PlainQuant(nn.Module):
    """Parametrisation ``w -> alpha * Q(clip(w / alpha))`` with a learned alpha per row."""

    def __init__(self, w: torch.Tensor, bits: int):
        super().__init__()
        self.bits = bits
        self.log_alpha = nn.Parameter(fit_alpha(w.detach(), bits).log())

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        alpha = self.log_alpha.exp()
        return alpha * _round_ste(torch.clamp(w / alpha, -1.0, 1.0), self.bits)

    def codes(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = self.log_alpha.exp()
        return unit_codes(torch.clamp(w / alpha, -1.0, 1.0), self.bits), alpha


class Squash(nn.Module):
    """Parametrisation ``v -> alpha * Q(tanh(v))``: the module's weight is stored as ``v`` (``right_inverse`` maps a
    float weight to it). alpha per row starts where plain rounding would put it (``fit_alpha``), so the rounded
    weights at the start are those of post-training rounding; weights beyond alpha start saturated."""

    def __init__(self, w: torch.Tensor, bits: int):
        super().__init__()
        self.bits = bits
        self.log_alpha = nn.Parameter(fit_alpha(w.detach(), bits).log())

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.log_alpha.exp() * _round_ste(torch.tanh(v), self.bits)

    def right_inverse(self, w: torch.Tensor) -> torch.Tensor:
        return torch.atanh(torch.clamp(w / self.log_alpha.exp(), -_EDGE, _EDGE))

    def codes(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return unit_codes(torch.tanh(v), self.bits), self.log_alpha.exp()


def quantised_modules(model: nn.Module) -> list[nn.Module]:
    """The encoder's Linears (its MatMuls) and the token embedding (its Gather), last: over 99 % of the weights.
    The two heads and the position embedding stay float (under 0.5 %; the intent head exports as a Gemm)."""
    linears = [m for name, m in model.named_modules() if name.startswith("layers.") and isinstance(m, nn.Linear)]
    return linears + [model.tok]


def attach(model: nn.Module, mode: str, bits: int) -> list[nn.Module]:
    """Fake-quantise ``model``'s weights in place (``mode`` plain or squash); returns the modules touched."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    kind = PlainQuant if mode == "plain" else Squash
    mods = quantised_modules(model)
    for m in mods:
        parametrize.register_parametrization(m, "weight", kind(m.weight, bits))
    return mods


def squashed_parameters(model: nn.Module) -> tuple[list[nn.Parameter], float]:
    """The squashed modules' ``v`` parameters, and the factor their learning rate needs over the float weights'.

    Adam moves every parameter by about the learning rate per step whatever its scale. A weight w is about alpha
    * v near zero, and alpha is a few hundredths, so the same learning rate would move w twenty-odd times less
    through v than plain QAT moves it directly. The factor is 1 / (mean alpha) at the start, so the two
    trainings take steps of the same size in weight space."""
    params, alphas = [], []
    for m in quantised_modules(model):
        if parametrize.is_parametrized(m, "weight") and isinstance(m.parametrizations.weight[0], Squash):
            params.append(m.parametrizations.weight.original)
            alphas.append(m.parametrizations.weight[0].log_alpha.detach().exp().reshape(-1))
    if not params:
        return [], 1.0
    return params, float(1.0 / torch.cat(alphas).mean())


def squash_penalty(model: nn.Module) -> torch.Tensor:
    """Mean over squashed rows of mean(v)^2 + (std(v) - TARGET_STD)^2 (0 without squashed weights)."""
    terms = []
    for m in quantised_modules(model):
        if parametrize.is_parametrized(m, "weight") and isinstance(m.parametrizations.weight[0], Squash):
            v = m.parametrizations.weight.original
            terms.append((v.mean(dim=1) ** 2 + (v.std(dim=1) - TARGET_STD) ** 2).mean())
    return torch.stack(terms).mean() if terms else torch.zeros(())


def codes_and_scales(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor, int]:
    """A fake-quantised module's integer codes [rows, cols], alpha per row [rows, 1] and bits."""
    p = m.parametrizations.weight[0]
    codes, alpha = p.codes(m.parametrizations.weight.original)
    return codes.to(torch.uint8), alpha.detach(), p.bits


def quantised_weights(model: nn.Module) -> tuple[list, object]:
    """lowbit_export.QuantisedWeight of every encoder Linear, and of the token embedding."""
    from .lowbit_export import QuantisedWeight

    out = []
    for m in quantised_modules(model):
        codes, alpha, bits = codes_and_scales(m)
        out.append(QuantisedWeight(codes.numpy(), alpha.numpy(), bits))
    return out[:-1], out[-1]


def detach(model: nn.Module) -> None:
    """Make the rounded weights the modules' plain weights again (for export: ONNX then holds the grid values).
    They are set to alpha * level(code) exactly: the straight-through forward ``u + (q - u).detach()`` can be a
    rounding error away from ``q``, and the exporter finds each weight by its exact value."""
    with torch.no_grad():
        for m in quantised_modules(model):
            if parametrize.is_parametrized(m, "weight"):
                codes, alpha, bits = codes_and_scales(m)
                parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
                m.weight.copy_(alpha * unit_levels(codes.float(), bits))
