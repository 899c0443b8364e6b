"""The feature terms of the registered methods, in the one call shape the trainer uses.

A method's ``loss`` (:mod:`skdlib.distill.methods`) takes the student's tapped features, the
targets — the teacher's features on the same batch, or for a static method the teacher's
semantic vectors — each mapping ``{hook name: tensor}``, and the step's
:class:`~skdlib.distill.methods.StepInputs` (config, settings, the method's modules, logits,
labels, sample indices, epoch), and returns a scalar. An initialisation stage's loss
(``*_init``) has the same shape. The tensor losses themselves live in
:mod:`skdlib.distill.baselines`, :mod:`~skdlib.distill.feature_baselines`,
:mod:`~skdlib.distill.relation_baselines`, :mod:`~skdlib.distill.dkd`,
:mod:`~skdlib.distill.crd` and :mod:`skdlib.losses`; these adapt them.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> s, t = torch.randn(4, 8, 2, 2, generator=g), torch.randn(4, 8, 2, 2, generator=g)
    >>> bool(sp({"layer3": s}, {"layer3": t}, None) > 0)
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ..losses import skd_loss_over_layers
from .baselines import at_loss_sum, pkt_loss, rkd_loss, sp_loss
from .crd import contrast_loss
from .dkd import dkd_loss, dkd_warmup
from .feature_baselines import ab_loss, factor_loss, hint_loss, nst_loss, pool_to_smaller, vid_nll
from .relation_baselines import cc_loss, fsp_loss

if TYPE_CHECKING:
    from .methods import StepInputs

__all__ = [
    "skd", "sp", "rkd", "at", "pkt", "fitnet", "vid", "ab_init", "ft", "ft_init", "nst",
    "fsp_init", "cc", "crd", "dkd",
]  # fmt: skip

Features = Mapping[str, torch.Tensor]


def _only(features: Features) -> torch.Tensor:
    (value,) = features.values()
    return value


def _pairs(student: Features, teacher: Features, name: str):
    if len(student) != len(teacher) or not student:
        raise ValueError(
            f"{name}: student features {list(student)} and teacher features {list(teacher)}; "
            "it pairs them by position and needs the same non-zero number"
        )
    return list(zip(student.values(), teacher.values(), strict=True))


def skd(student: Features, vectors: Features, step: StepInputs) -> torch.Tensor:
    """SKD (Eq. 2–3): the student's activation similarities against the teacher's vectors',
    per layer paired by name, at the config's temperature."""
    cfg = step.config
    return skd_loss_over_layers(student, vectors, cfg.skd_tau, cfg.skd_exclude_diagonal)


def sp(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """Similarity-preserving KD on one tapped tensor each (:func:`baselines.sp_loss`)."""
    return sp_loss(_only(student), _only(teacher))


def rkd(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """Relational KD, distance and angle (:func:`baselines.rkd_loss`)."""
    return rkd_loss(_only(student), _only(teacher))


def at(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """Attention transfer summed over the tapped pairs (:func:`baselines.at_loss_sum`)."""
    return at_loss_sum(student, teacher)


def pkt(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """Probabilistic knowledge transfer (:func:`baselines.pkt_loss`)."""
    return pkt_loss(_only(student), _only(teacher))


def fitnet(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """FitNet: the student's hint through the ``regressor`` against the teacher's hint."""
    return hint_loss(step.modules["regressor"](_only(student)), _only(teacher))


def vid(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """VID summed over the stages: each regressor predicts the teacher's map (the larger map
    pooled to the smaller first, the student's before its regressor)."""
    terms = []
    for (s, t), head in zip(
        _pairs(student, teacher, "VID"), step.modules["regressors"], strict=True
    ):
        s, t = pool_to_smaller(s, t)
        terms.append(vid_nll(head(s), t, head.variance()))
    return torch.stack(terms).sum()


def ab_init(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """AB's initialisation loss: the connector's outputs on the student's pre-activation
    stages against the teacher's, unweighted (:func:`~skdlib.distill.feature_baselines.ab_loss`)."""
    pairs = _pairs(student, teacher, "AB")
    connected = [c(s) for (s, _), c in zip(pairs, step.modules["connector"], strict=True)]
    return ab_loss(connected, [t for _, t in pairs], step.settings["margin"])


def ft(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """FT: the translator's factor of the student's last stage against the frozen
    paraphraser's factor (its encoder) of the teacher's."""
    with torch.no_grad():
        factor_t = step.modules["paraphraser"].encoder(_only(teacher))
    return factor_loss(step.modules["translator"](_only(student)), factor_t)


def ft_init(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """FT's initialisation loss: the paraphraser reconstructs the teacher's last stage (MSE)."""
    t = _only(teacher)
    return F.mse_loss(step.modules["paraphraser"](t), t)


def nst(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """NST summed over the paired stages (:func:`~skdlib.distill.feature_baselines.nst_loss`)."""
    return torch.stack([nst_loss(s, t) for s, t in _pairs(student, teacher, "NST")]).sum()


def fsp_init(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """FSP's initialisation loss over CRD's ``feat[:-1]`` (stem and stages), unweighted."""
    pairs = _pairs(student, teacher, "FSP")
    return fsp_loss([s for s, _ in pairs], [t for _, t in pairs])


def cc(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """CC on the two linear embeddings of the pooled features (both trained)."""
    m = step.modules
    return cc_loss(m["embed_s"](_only(student)), m["embed_t"](_only(teacher)))


def crd(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """CRD: both embeddings, negatives of other classes, the memory's scores and the two NCE
    terms; the memory moves its rows of the batch. The drawn rows are kept in
    ``memory.last_contrast`` ``(B, K + 1)``."""
    if step.index is None:
        raise ValueError(
            "method 'crd' needs the sample index of every image: build the training loader "
            "with cifar_loader(..., with_index=True) (train_model and the Table-1 runner do)"
        )
    m = step.modules
    memory = m["memory"]
    v_s, v_t = m["embed_s"](_only(student)), m["embed_t"](_only(teacher))
    contrast = memory.sample(step.index, step.labels)
    memory.last_contrast = contrast
    out_s, out_t = memory(v_s, v_t, step.index.to(v_s.device), contrast)
    return contrast_loss(out_s, memory.n_data) + contrast_loss(out_t, memory.n_data)


def dkd(student: Features, teacher: Features, step: StepInputs) -> torch.Tensor:
    """DKD on the logits, times its warm-up ``min(epoch / warmup, 1)``."""
    st = step.settings
    warm = dkd_warmup(step.epoch, st["warmup"])
    term = dkd_loss(
        step.logits, step.teacher_logits, step.labels, st["alpha"], st["beta"], st["temperature"]
    )
    return warm * term
