"""The tutorial's three profiles: how big each step runs.

Every notebook starts with a ``parameters`` cell holding ``profile`` (papermill overrides it; its
default comes from ``$SKD_PROFILE``, else ``"quick"``) and reads its settings with
:func:`get_profile`. A profile is a JSON-loadable dataclass like every job configuration
(:mod:`skdlib.config`):

* ``smoke`` — for the tests (nbval): seconds per notebook, numbers meaningless.
* ``quick`` — the offline default and the main job: CPU only, the whole tutorial in about 15
  minutes on 2 cores. A torchvision ResNet18 is first trained briefly on synthetic concept images
  so its units become concept-selective; Broden and CIFAR-100 are replaced by generated stand-ins.
* ``paper`` — the paper's setting: ImageNet ResNet18 weights, Broden 224, CIFAR-100 under the CRD
  protocol, meant for a GPU. Offline it stops at once, naming the missing file and its URL.

Each notebook also has a ``trial_run`` parameter: ``True`` runs the chosen profile on its own data
and models with every schedule cut to one epoch (:meth:`Profile.trial`), into
``runs/<profile>-trial/`` — a check of a set-up in minutes before the real run takes hours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from ..config import JsonConfig
from ..embedding.config import EmbeddingConfig
from ..models.registry import ARCHITECTURES

__all__ = ["Profile", "PROFILES", "get_profile", "default_profile"]


@dataclass(frozen=True)
class Profile(JsonConfig):
    """Settings of one profile; see the module docstring for what each profile is for.

    Attributes:
        name: ``smoke``, ``quick`` or ``paper``.
        weights: ``"imagenet"`` (torchvision's) or ``"concepts"`` (trained here on synthetic
            concept scenes, see :mod:`skdlib.tutorial.network`).
        image_size: input size of the studied network (Broden: 224).
        pretrain_images, pretrain_epochs: the concept pre-training (``weights="concepts"``).
        broden: ``"real"`` (``data/broden1_224``) or ``"synthetic"`` (generated).
        broden_images: images of the generated Broden.
        layers: the embedded / dissected layers (default: ResNet18's stages).
        embedding: the neuron embedding of the studied network (Eq. 1), an
            :class:`~skdlib.embedding.EmbeddingConfig`: its ``mode`` is ``"minibatch"`` (the
            paper: one network forward per step, SGD over epochs) or ``"dataset_mean"`` (the
            same objective fitted exactly: one forward pass over the data, then ``steps`` cheap
            steps; see :meth:`skdlib.embedding.EmbeddingTrainer.fit_dataset_mean`).
        batch_size: images per batch of the embedding and the dissection.
        cifar: ``"real"`` (CIFAR-100) or ``"synthetic"`` (the generated stand-in).
        cifar_per_class: images per class of the stand-in (train split).
        teacher_arch, student_arch: the distillation pair.
        teacher_embedding: the embedding of the distillation teacher's stage outputs
            (:func:`skdlib.distill.embed_teacher`).
        teacher_epochs, student_epochs: CIFAR training lengths (CRD: 240). Offline the students
            get a short budget (3 epochs) and the teacher a longer one, so the teacher is
            clearly better than a student trained alone — without that, it has little to teach.
        trials: seeds per student method (mean ± std in notebook 05).
        methods: student training methods compared in notebook 05.
        display_images: images kept for figures and the explorer.
        dissect_quantile: per-unit activation quantile of Network Dissection: the paper's 0.995
            in every profile. A unit's mask then covers 0.5 % of the pixels, so a concept
            covering a fraction ``f`` of them can reach at most ``IoU = 0.005 / f``; on the
            generated Broden each texture or scene labels a whole image and covers about 1/6 of
            all pixels (IoU <= 0.03 < 0.04), so there only colour, object and part units can
            pass the rule (notebook 04 says so).
        upper_steps: Adam steps of the KL metric's supervised upper bound.
        map_method: projection of the semantic map, ``"tsne"`` or ``"pca"`` (fast).
        workers: image-decoding worker processes of the notebooks' loaders (``None``: as many
            as the machine has to spare, :func:`skdlib.runtime.default_workers`).
        device: ``"auto"`` (the GPU when present), ``"cpu"`` or ``"cuda"``.
    """

    name: str
    weights: str
    image_size: int
    pretrain_images: int
    pretrain_epochs: int
    broden: str
    broden_images: int
    embedding: EmbeddingConfig
    batch_size: int
    cifar: str
    cifar_per_class: int
    teacher_arch: str
    student_arch: str
    teacher_embedding: EmbeddingConfig
    teacher_epochs: int
    student_epochs: int
    methods: tuple[str, ...] = ("none", "kd", "skd")
    trials: int = 3
    display_images: int = 48
    dissect_quantile: float = 0.995
    upper_steps: int = 300
    map_method: str = "tsne"
    layers: tuple[str, ...] = ARCHITECTURES["resnet18"].stages
    device: str = "auto"
    workers: int | None = 0
    notes: dict = field(default_factory=dict)

    def trial(self) -> Profile:
        """This profile with every schedule cut short: the same data, models and code paths,
        one epoch of each training, one trial per method; results go to ``<name>-trial``.

        Example:
            >>> t = get_profile("paper").trial()
            >>> t.name, t.broden, t.teacher_epochs, t.embedding.epochs, t.trials
            ('paper-trial', 'real', 1, 1, 1)
        """
        return replace(
            self,
            name=f"{self.name}-trial",
            pretrain_epochs=min(self.pretrain_epochs, 1),
            embedding=replace(self.embedding, epochs=1, steps=min(self.embedding.steps, 20)),
            teacher_embedding=replace(self.teacher_embedding, epochs=1),
            teacher_epochs=1,
            student_epochs=1,
            trials=1,
            upper_steps=min(self.upper_steps, 20),
        )


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        weights="concepts",
        image_size=64,
        pretrain_images=64,
        pretrain_epochs=1,
        broden="synthetic",
        broden_images=32,
        embedding=EmbeddingConfig(
            epochs=2, optimizer="adam", lr=0.01, mode="dataset_mean", steps=40
        ),
        batch_size=16,
        cifar="synthetic",
        cifar_per_class=2,
        teacher_arch="resnet56",
        student_arch="resnet20",
        teacher_embedding=EmbeddingConfig(epochs=3, optimizer="adam", lr=0.01),
        teacher_epochs=1,
        student_epochs=1,
        trials=2,
        display_images=8,
        upper_steps=20,
        map_method="pca",
    ),
    "quick": Profile(
        name="quick",
        weights="concepts",
        image_size=112,
        pretrain_images=1536,
        pretrain_epochs=4,
        broden="synthetic",
        broden_images=512,
        embedding=EmbeddingConfig(
            epochs=10, optimizer="adam", lr=0.01, mode="dataset_mean", steps=600
        ),
        batch_size=64,
        cifar="synthetic",
        cifar_per_class=16,
        teacher_arch="resnet56",
        student_arch="resnet20",
        teacher_embedding=EmbeddingConfig(epochs=3, optimizer="adam", lr=0.01),
        teacher_epochs=10,
        student_epochs=3,
    ),
    "paper": Profile(
        name="paper",
        weights="imagenet",
        image_size=224,
        pretrain_images=0,
        pretrain_epochs=0,
        broden="real",
        broden_images=0,
        embedding=EmbeddingConfig(epochs=100, optimizer="sgd", lr=0.1, mode="minibatch"),
        batch_size=64,
        cifar="real",
        cifar_per_class=500,
        teacher_arch="resnet32x4",
        student_arch="resnet8x4",
        teacher_embedding=EmbeddingConfig(epochs=100, optimizer="sgd", lr=0.1),
        teacher_epochs=240,
        student_epochs=240,
        methods=("none", "kd", "skd"),
        upper_steps=500,
        workers=None,
    ),
}


def default_profile() -> str:
    """``$SKD_PROFILE`` if set (nbval selects ``smoke`` this way), else ``"quick"``."""
    return os.environ.get("SKD_PROFILE", "quick")


def get_profile(name: str | None = None, trial_run: bool = False) -> Profile:
    """The named profile (default: :func:`default_profile`); an unknown name lists the choices.
    ``trial_run=True`` gives its :meth:`Profile.trial` (schedules cut to one epoch).

    Example:
        >>> get_profile("quick").image_size, get_profile("quick", trial_run=True).name
        (112, 'quick-trial')
    """
    name = name or default_profile()
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name].trial() if trial_run else PROFILES[name]
