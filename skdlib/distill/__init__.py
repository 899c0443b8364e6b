"""Static knowledge distillation (paper Eq. 2–3) and its baselines, under the CRD protocol.

* :mod:`~skdlib.distill.models` — the CRD CIFAR-100 model zoo; :mod:`~skdlib.distill.cifar` —
  CIFAR-100 (or the generated stand-in), CRD augmentation, a device-resident GPU pipeline;
* :mod:`~skdlib.distill.methods` — **the method registry**: none, KD, SKD, SKD+KD, SP, RKD, AT,
  PKT, each one entry knowing its features, loss and weights (losses of the teacher-guided ones
  in :mod:`~skdlib.distill.baselines`; where a model's features live in
  :mod:`~skdlib.distill.features`);
* :class:`DistillConfig`, :class:`DistillTrainer` — one run of any method, resumable;
* :func:`train_model`, :func:`embed_teacher` — teacher, teacher embedding, student;
  :func:`save_model`, :func:`load_model`, :func:`evaluate`;
* :func:`run_table1` (:class:`Table1Config`) and :func:`render_table1` — the paper's Table 1;
* :func:`skd_strength` — how strongly SKD acts: its loss against the floor, its gradient against
  the task's, per temperature.
"""

from .baselines import at_loss, at_loss_sum, attention_map, kd_loss, pkt_loss, rkd_loss, sp_loss
from .config import DistillConfig
from .evaluate import evaluate
from .features import FeatureSpec, feature_spec
from .methods import METHODS, Method, get_method, register
from .model_io import load_model, save_model
from .models import MODEL_NAMES, PAPER_PAIRS, create_model, stage_channels, stage_names
from .report import (
    PUBLISHED,
    compare_to_plain,
    method_summary,
    plot_results,
    render_table1,
    seconds_per_epoch,
)
from .skd_strength import TAUS, format_strength, skd_strength, target_entropy
from .steps import embed_teacher, train_model
from .table1 import Table1Config, run_table1
from .trainer import DistillTrainer

__all__ = [
    "METHODS",
    "MODEL_NAMES",
    "PAPER_PAIRS",
    "PUBLISHED",
    "DistillConfig",
    "TAUS",
    "format_strength",
    "skd_strength",
    "target_entropy",
    "DistillTrainer",
    "FeatureSpec",
    "Method",
    "Table1Config",
    "at_loss",
    "at_loss_sum",
    "attention_map",
    "create_model",
    "embed_teacher",
    "evaluate",
    "feature_spec",
    "get_method",
    "kd_loss",
    "load_model",
    "pkt_loss",
    "plot_results",
    "register",
    "render_table1",
    "seconds_per_epoch",
    "compare_to_plain",
    "method_summary",
    "rkd_loss",
    "run_table1",
    "save_model",
    "sp_loss",
    "stage_channels",
    "stage_names",
    "train_model",
]
