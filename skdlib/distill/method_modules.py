"""The trainable modules of the Table-1 methods, built from the tapped features' shapes.

A method's ``modules`` builder (:class:`~skdlib.distill.methods.Method`) is called once per run
with the shapes of its tapped features — a dummy forward of both models in eval mode, as
RepDistiller's ``train_student.py`` does — and returns an ``nn.ModuleDict``; the trainer puts
its parameters (except the method's ``frozen`` ones) into the optimizer with the student's,
saves it in every checkpoint and restores it on resume. Each module follows RepDistiller's
``models/util.py`` / ``distiller_zoo``:

========== ============================================================ =====================
method      modules                                                       trained
========== ============================================================ =====================
FitNet      ``regressor``: :class:`ConvReg` (conv, BN, ReLU) on the hint   main stage
VID         ``regressors``: per stage :class:`VIDRegressor` (three 1×1     main stage
            convs and a per-channel log-variance)
AB          ``connector``: per stage identity, or ``ConvReg`` without      init stage only
            ReLU when channels or size differ
FT          ``paraphraser`` (:class:`Paraphraser`, on the teacher) and     init / main stage
            ``translator`` (:class:`Translator`, on the student)
CC          ``embed_s``, ``embed_t``: ``Linear`` to 128                    main stage (both)
CRD         ``embed_s``, ``embed_t``: ``Linear`` to 128 + L2 normalisation main stage (both);
            and ``memory`` (:class:`~skdlib.distill.crd.ContrastMemory`)   momentum updates
========== ============================================================ =====================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .crd import ContrastMemory

__all__ = [
    "ConvReg",
    "VIDRegressor",
    "Paraphraser",
    "Translator",
    "Embed",
    "fitnet",
    "vid",
    "ab",
    "ft",
    "cc",
    "crd",
]

Shapes = Sequence[torch.Size]
#: The builders' last argument: the training set's labels by index (only CRD reads them).
Targets = torch.Tensor | None


class ConvReg(nn.Module):
    """RepDistiller's regressor from a student map ``(B, C_s, H_s, W_s)`` to the teacher's
    shape ``(B, C_t, H_t, W_t)``: a convolution chosen by the sizes, then BN (and ReLU).

    * ``H_s = 2 H_t``: 3×3 conv, stride 2, padding 1;
    * ``2 H_s = H_t``: 4×4 transposed conv, stride 2, padding 1;
    * ``H_s >= H_t``: a ``(1 + H_s − H_t) × (1 + W_s − W_t)`` conv (1×1 for equal sizes).

    Example:
        >>> reg = ConvReg((2, 16, 16, 16), (2, 64, 8, 8))
        >>> tuple(reg(torch.zeros(2, 16, 16, 16)).shape)
        (2, 64, 8, 8)
    """

    def __init__(self, s_shape: Sequence[int], t_shape: Sequence[int], use_relu: bool = True):
        super().__init__()
        _, s_c, s_h, s_w = s_shape
        _, t_c, t_h, t_w = t_shape
        if s_h == 2 * t_h:
            self.conv = nn.Conv2d(s_c, t_c, kernel_size=3, stride=2, padding=1)
        elif s_h * 2 == t_h:
            self.conv = nn.ConvTranspose2d(s_c, t_c, kernel_size=4, stride=2, padding=1)
        elif s_h >= t_h:
            self.conv = nn.Conv2d(s_c, t_c, kernel_size=(1 + s_h - t_h, 1 + s_w - t_w))
        else:
            raise ValueError(
                f"ConvReg cannot map a student map of {s_h}x{s_w} to a teacher map of "
                f"{t_h}x{t_w}: the student's side must be twice, half, or at least the "
                "teacher's (RepDistiller's rule)"
            )
        self.bn = nn.BatchNorm2d(t_c)
        self.use_relu = use_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.use_relu else x


class VIDRegressor(nn.Module):
    """VID's predictor of the teacher's map: ``μ = conv1x1 ∘ ReLU ∘ conv1x1 ∘ ReLU ∘ conv1x1``
    (no biases), and a per-channel variance ``σ² = log(1 + exp(log_scale)) + eps`` whose
    ``log_scale`` starts at the inverse softplus of ``init_pred_var − eps`` (so ``σ² = 5``).

    Example:
        >>> r = VIDRegressor(16, 64, 64)
        >>> round(float(r.variance()[0].detach()), 4)
        5.0
    """

    def __init__(
        self, c_in: int, c_mid: int, c_out: int, init_pred_var: float = 5.0, eps: float = 1e-5
    ) -> None:
        super().__init__()
        self.regressor = nn.Sequential(
            nn.Conv2d(c_in, c_mid, 1, bias=False),
            nn.ReLU(),
            nn.Conv2d(c_mid, c_mid, 1, bias=False),
            nn.ReLU(),
            nn.Conv2d(c_mid, c_out, 1, bias=False),
        )
        start = math.log(math.exp(init_pred_var - eps) - 1.0)
        self.log_scale = nn.Parameter(start * torch.ones(c_out))
        self.eps = eps

    def variance(self) -> torch.Tensor:
        """``(C_out,)`` the predicted variance per channel."""
        return torch.log(1.0 + torch.exp(self.log_scale)) + self.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.regressor(x)


def _encoder(c_in: int, c_out: int, bn: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_in), (c_in, c_out), (c_out, c_out)):
        layers.append(nn.Conv2d(a, b, 3, 1, 1))
        if bn:
            layers.append(nn.BatchNorm2d(b))
        layers.append(nn.LeakyReLU(0.1))
    return layers


class Paraphraser(nn.Module):
    """FT's paraphraser, an autoencoder of the teacher's last stage (no BN): the encoder's
    output ``(B, ⌊C_t·k⌋, H, W)`` is the teacher's factor.

    Example:
        >>> p = Paraphraser(8)
        >>> tuple(p.encoder(torch.zeros(1, 8, 4, 4)).shape), tuple(p(torch.zeros(1, 8, 4, 4)).shape)
        ((1, 4, 4, 4), (1, 8, 4, 4))
    """

    def __init__(self, c_t: int, k: float = 0.5) -> None:
        super().__init__()
        c_f = int(c_t * k)
        self.encoder = nn.Sequential(*_encoder(c_t, c_f, bn=False))
        layers: list[nn.Module] = []
        for a, b in ((c_f, c_f), (c_f, c_t), (c_t, c_t)):
            layers += [nn.ConvTranspose2d(a, b, 3, 1, 1), nn.LeakyReLU(0.1)]
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``decoder(encoder(x))`` (the init stage's target is ``x``)."""
        return self.decoder(self.encoder(x))


class Translator(nn.Module):
    """FT's translator: the paraphraser's encoder shape with BN, from the student's last stage
    to ``⌊C_t·k⌋`` channels.

    Example:
        >>> tuple(Translator(64, 256)(torch.zeros(2, 64, 8, 8)).shape)
        (2, 128, 8, 8)
    """

    def __init__(self, c_s: int, c_t: int, k: float = 0.5) -> None:
        super().__init__()
        self.encoder = nn.Sequential(*_encoder(c_s, int(c_t * k), bn=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class Embed(nn.Module):
    """``(B, ...) -> (B, d)``: flatten, ``Linear``, then (CRD) divide by the L2 norm, with no
    epsilon, as RepDistiller's ``Normalize(2)``; ``normalise=False``: CC's ``LinearEmbed``.

    Example:
        >>> Embed(256)(torch.randn(4, 256)).norm(dim=1).detach().round(decimals=4)
        tensor([1., 1., 1., 1.])
    """

    def __init__(self, d_in: int, d_out: int = 128, normalise: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.normalise = normalise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x.reshape(x.shape[0], -1))
        return x / x.pow(2).sum(1, keepdim=True).pow(0.5) if self.normalise else x


def _one(shapes: Shapes, what: str) -> torch.Size:
    if len(shapes) != 1:
        raise ValueError(f"{what} compares one tensor per model, got {len(shapes)}")
    return shapes[0]


def fitnet(
    s: Shapes, t: Shapes, settings: Mapping[str, float], targets: Targets = None
) -> nn.ModuleDict:
    """FitNet: ``regressor``, a :class:`ConvReg` from the student's hint to the teacher's.

    Example:
        >>> s, t = [torch.Size((2, 32, 16, 16))], [torch.Size((2, 128, 8, 8))]
        >>> fitnet(s, t, {})["regressor"].conv
        Conv2d(32, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
    """
    return nn.ModuleDict({"regressor": ConvReg(_one(s, "FitNet"), _one(t, "FitNet"))})


def vid(
    s: Shapes, t: Shapes, settings: Mapping[str, float], targets: Targets = None
) -> nn.ModuleDict:
    """VID: ``regressors``, one :class:`VIDRegressor` (``C_s → C_t → C_t → C_t``) per stage."""
    heads = [
        VIDRegressor(a[1], b[1], b[1], settings["init_pred_var"], settings["eps"])
        for a, b in zip(s, t, strict=True)
    ]
    return nn.ModuleDict({"regressors": nn.ModuleList(heads)})


def ab(
    s: Shapes, t: Shapes, settings: Mapping[str, float], targets: Targets = None
) -> nn.ModuleDict:
    """AB: ``connector``, per stage the identity when channels and size agree, else a
    :class:`ConvReg` without ReLU."""
    parts = [
        nn.Identity() if (a[1], a[2]) == (b[1], b[2]) else ConvReg(a, b, use_relu=False)
        for a, b in zip(s, t, strict=True)
    ]
    return nn.ModuleDict({"connector": nn.ModuleList(parts)})


def ft(
    s: Shapes, t: Shapes, settings: Mapping[str, float], targets: Targets = None
) -> nn.ModuleDict:
    """FT: ``paraphraser`` (built first, as RepDistiller) and ``translator``."""
    s1, t1 = _one(s, "FT"), _one(t, "FT")
    paraphraser = Paraphraser(t1[1])
    return nn.ModuleDict({"paraphraser": paraphraser, "translator": Translator(s1[1], t1[1])})


def cc(
    s: Shapes, t: Shapes, settings: Mapping[str, float], targets: Targets = None
) -> nn.ModuleDict:
    """CC: ``embed_s`` and ``embed_t``, linear maps of the pooled features to ``feat_dim``."""
    d = int(settings["feat_dim"])
    s1, t1 = _one(s, "CC"), _one(t, "CC")
    return nn.ModuleDict(
        {
            "embed_s": Embed(math.prod(s1[1:]), d, normalise=False),
            "embed_t": Embed(math.prod(t1[1:]), d, normalise=False),
        }
    )


def crd(
    s: Shapes, t: Shapes, settings: Mapping[str, float], targets: Targets = None
) -> nn.ModuleDict:
    """CRD: ``embed_s``, ``embed_t`` (linear, L2-normalised, ``feat_dim``) and ``memory``, a
    :class:`~skdlib.distill.crd.ContrastMemory` over the training set whose labels are
    ``targets`` (built in RepDistiller's order: the two embeds, then the memories)."""
    if targets is None:
        raise ValueError(
            "method 'crd' needs the training set's labels by sample index (train_targets=, e.g. "
            "train_set.targets) to build its memory bank; train_model reads them from the "
            "training loader's dataset"
        )
    d = int(settings["feat_dim"])
    s1, t1 = _one(s, "CRD"), _one(t, "CRD")
    embed_s, embed_t = Embed(math.prod(s1[1:]), d), Embed(math.prod(t1[1:]), d)
    memory = ContrastMemory(
        d, torch.as_tensor(targets), settings["nce_k"], settings["nce_t"], settings["nce_m"]
    )
    return nn.ModuleDict({"embed_s": embed_s, "embed_t": embed_t, "memory": memory})
