"""Settings of one training run under the CRD protocol (paper Table 1), as a JSON-loadable
dataclass, and the names of the data a run reads.

Plain values, no torch: the command line reads them for its defaults and choices."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..schedule import StepDecaySGD
from .methods import METHODS, get_method

__all__ = ["DATASETS", "PIPELINES", "DistillConfig"]

#: Data a CIFAR run reads (:func:`skdlib.distill.cifar.load_split`): CIFAR-100, or its generated
#: 32x32 stand-in.
DATASETS = ("cifar100", "synthetic")
#: Input pipelines of :func:`skdlib.distill.cifar.cifar_loader`: ``"auto"`` (the device pipeline
#: on CUDA, torchvision's elsewhere), ``"device"`` (the split on the GPU, batched augmentation)
#: or ``"torchvision"`` (a ``DataLoader`` with transforms).
PIPELINES = ("auto", "device", "torchvision")


@dataclass
class DistillConfig(StepDecaySGD):
    """Settings of one training run; defaults are the CRD protocol (paper Table 1).

    Attributes:
        method: a registered method (:data:`skdlib.distill.methods.METHODS`); ``"none"`` trains
            without a teacher, e.g. a teacher.
        epochs: passes over the training set (CRD: 240).
        batch_size: recorded, and used by runners to build the loader (CRD: 64).
        lr, momentum, weight_decay: SGD (CRD: 0.05, 0.9, 5e-4).
        milestones: fractions of ``epochs`` after which the lr is multiplied by ``lr_decay``
            (CRD: 150/180/210 of 240 = ``(0.625, 0.75, 0.875)``), so short runs keep the shape.
        lr_decay: 0.1.
        seed: model initialisation and per-epoch data order / augmentation.
        beta, ce_weight, kd_weight: weights of the feature term, of CE and of KD; ``None`` = the
            method's defaults (:meth:`weights`).
        kd_temperature: KD's T (CRD: 4).
        skd_tau, skd_exclude_diagonal: SKD's softmax temperature and diagonal (paper: 1, keep).
        precision: ``"fp32"`` or ``"bf16"`` (forward passes under bfloat16 autocast; losses in
            float32; no loss scaling needed) — for GPUs with bfloat16 (Ampere and later).
        channels_last: student and teacher weights and the images in channels-last memory
            format (faster convolutions on tensor cores).
        compile: run the student's forward through ``torch.compile`` (the first steps compile).
        init_epochs, init_lr: epochs and lr of the initialisation stage of the methods that
            have one (AB, FT, FSP; CRD: 30 epochs at ``lr``, FT 0.01 for resnet/wrn students);
            ``None`` = the method's; other methods have no such stage.
        settings: ``{method: {name: value}}`` overriding a method's named constants
            (:attr:`~skdlib.distill.methods.Method.settings`: CRD's ``nce_k``, DKD's ``beta``,
            ...), for the methods named; a job's ``student_config`` can hold all of them.

    Example:
        >>> DistillConfig.from_dict({"method": "skd", "epochs": 5}).weights("vgg13", "vgg8")
        {'ce': 1.0, 'kd': 0.0, 'beta': 0.05}
    """

    epochs: int = 240
    lr: float = 0.05
    milestones: tuple[float, ...] = (0.625, 0.75, 0.875)
    method: str = "none"
    batch_size: int = 64
    beta: float | None = None
    ce_weight: float | None = None
    kd_weight: float | None = None
    kd_temperature: float = 4.0
    skd_tau: float = 1.0
    skd_exclude_diagonal: bool = False
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    init_epochs: int | None = None
    init_lr: float | None = None
    settings: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in METHODS:
            get_method(self.method)  # raises, listing the registered methods
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            )
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        if not self.skd_tau > 0:
            raise ValueError(f"skd_tau (SKD's temperature) must be > 0, got {self.skd_tau}")
        if self.beta is not None and not self.beta >= 0:
            raise ValueError(f"beta (the feature term's weight) must be >= 0, got {self.beta}")
        if self.init_epochs is not None and self.init_epochs < 0:
            raise ValueError(f"init_epochs must be >= 0, got {self.init_epochs}")
        if self.init_lr is not None and not self.init_lr > 0:
            raise ValueError(f"init_lr must be > 0, got {self.init_lr}")
        for name, values in self.settings.items():
            known = get_method(name).settings  # an unknown method lists the registered ones
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise ValueError(
                    f"settings of method {name!r}: unknown {unknown}; it has "
                    f"{sorted(known) or 'no settings'}"
                )

    def weights(self, teacher: str | None = None, student: str | None = None) -> dict[str, float]:
        """``{"ce", "kd", "beta"}`` — the loss weights this config resolves to for a pair.

        Example:
            >>> DistillConfig(method="kd").weights()
            {'ce': 0.1, 'kd': 0.9, 'beta': 0.0}
        """
        m = get_method(self.method)
        return {
            "ce": m.ce_weight if self.ce_weight is None else self.ce_weight,
            "kd": m.kd_weight if self.kd_weight is None else self.kd_weight,
            "beta": m.default_beta(teacher, student) if self.beta is None else self.beta,
        }

    def method_settings(self, teacher: str | None = None, student: str | None = None) -> dict:
        """The method's settings for a pair, with this config's ``settings`` applied.

        Example:
            >>> DistillConfig(method="crd", settings={"crd": {"nce_k": 64}}).method_settings()
            {'feat_dim': 128, 'nce_k': 64.0, 'nce_t': 0.07, 'nce_m': 0.5}
        """
        m = get_method(self.method)
        return {**m.default_settings(teacher, student), **self.settings.get(m.name, {})}
