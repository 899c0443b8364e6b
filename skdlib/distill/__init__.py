"""Static knowledge distillation (paper Eq. 2–3) and its baselines, under the CRD protocol.

* :mod:`~skdlib.distill.cifar` — CIFAR-100 (or the generated stand-in), CRD augmentation, a
  device-resident GPU pipeline (the models are :mod:`skdlib.models`'s CIFAR zoo);
* :mod:`~skdlib.distill.methods` — **the method registry**: SKD and the paper's Table-1 methods
  (KD, PKT, CRD; FitNet, AT, VID, AB, FT, NST; FSP, SP, CC, RKD) as RepDistiller computes them,
  mdistiller's DKD, and SKD+KD, each one entry knowing its features, loss, trainable modules,
  initialisation stage, settings and weights (tensor losses in :mod:`~skdlib.distill.baselines`,
  :mod:`~skdlib.distill.feature_baselines`, :mod:`~skdlib.distill.relation_baselines`,
  :mod:`~skdlib.distill.dkd` and :mod:`~skdlib.distill.crd`; modules in
  :mod:`~skdlib.distill.method_modules`; where a model's features live in
  :mod:`~skdlib.distill.features`; which pairs fit in :mod:`~skdlib.distill.pairing`);
* :class:`~skdlib.distill.method_term.MethodTerm` and :mod:`~skdlib.distill.init_stage` — a
  method's part of a run: hooks, modules, its term; its initialisation stage;
* :class:`DistillConfig`, :class:`DistillTrainer` — one run of any method, resumable;
* :func:`train_model`, :func:`embed_teacher` — teacher, teacher embedding, student;
  :func:`evaluate`;
* :func:`run_table1` (:class:`Table1Config`) and :func:`render_table1` — the paper's Table 1;
* :func:`skd_strength` — how strongly SKD acts: its loss against the floor, its gradient against
  the task's, per temperature.

Names are imported on first use: ``from skdlib.distill import DistillConfig`` loads what a
training process needs and no plotting or widget library.
"""

import lazy_loader as _lazy

# every public name, imported from its module on first use (scientific-python SPEC 1)
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "baselines": [
            "at_loss",
            "at_loss_sum",
            "attention_map",
            "kd_loss",
            "pkt_loss",
            "rkd_loss",
            "sp_loss",
        ],
        "config": ["DistillConfig"],
        "crd": ["ContrastMemory", "contrast_loss"],
        "dkd": ["dkd_loss", "dkd_warmup"],
        "feature_baselines": ["ab_loss", "factor_loss", "hint_loss", "nst_loss", "vid_nll"],
        "evaluate": ["evaluate"],
        "features": ["FeatureSpec", "feature_spec"],
        "init_stage": ["InitStageRunner"],
        "method_term": ["MethodTerm"],
        "methods": [
            "GROUPS",
            "METHODS",
            "InitStage",
            "Method",
            "StepInputs",
            "get_method",
            "register",
        ],
        "report": [
            "PAPER_ROWS",
            "PUBLISHED",
            "compare_to_plain",
            "init_seconds_per_epoch",
            "method_summary",
            "render_table1",
            "seconds_per_epoch",
            "table_cells",
            "table_pairs",
        ],
        "relation_baselines": ["cc_loss", "fsp_loss", "fsp_matrices"],
        "skd_strength": ["TAUS", "format_strength", "skd_strength", "target_entropy"],
        "steps": ["embed_teacher", "train_model"],
        "table1": ["Table1Config", "run_table1"],
        "trainer": ["DistillTrainer"],
    },
)
