"""A method's part of a training run: its hooks, its features, its trainable modules and the
term it adds to a step — what :class:`~skdlib.distill.DistillTrainer` and the initialisation
stage (:mod:`skdlib.distill.init_stage`) ask of a registry entry, and nothing else.

:class:`MethodTerm` reads only the entry's fields (:class:`~skdlib.distill.methods.Method`):
which tensors to hook on each model (``taps``, ``preact``, ``relu``; the embedded layers of a
static method), which modules to build from those tensors' shapes (``modules``, probed by one
dummy forward of both models in eval mode, as RepDistiller does), which of them the main stage
trains (``frozen``) and which the initialisation stage trains (``init.trains``).

Example:
    >>> from skdlib.models import create_model
    >>> from skdlib.distill import DistillConfig, feature_spec, get_method
    >>> s, t = create_model("resnet20"), create_model("resnet8x4").eval()
    >>> term = MethodTerm(get_method("fitnet"), DistillConfig(method="fitnet"), s,
    ...                   feature_spec(s), t, feature_spec(t))
    >>> term.modules["regressor"].conv
    Conv2d(32, 128, kernel_size=(1, 1), stride=(1, 1))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import capture
from ..runtime import eval_mode
from .config import DistillConfig
from .features import FeatureSpec
from .methods import Method, StepInputs

__all__ = ["MethodTerm"]


class MethodTerm:
    """The hooks, features and modules of one method in one run.

    Args:
        method: the registry entry.
        config: the run's settings (``settings`` override the method's).
        student, spec: the student and its :class:`~skdlib.distill.features.FeatureSpec`.
        teacher, teacher_spec: the teacher (eval mode) and its spec, or ``None``.
        vectors: a static method's ``{layer: (C, K)}`` targets.
        settings: the method's resolved settings (default: the entry's, then the config's).
        train_targets: ``(N,)`` labels of the training set by index (CRD's memory bank).
        device: where the modules live.
    """

    def __init__(
        self,
        method: Method,
        config: DistillConfig,
        student: nn.Module,
        spec: FeatureSpec,
        teacher: nn.Module | None = None,
        teacher_spec: FeatureSpec | None = None,
        vectors: Mapping[str, torch.Tensor] | None = None,
        settings: Mapping[str, float] | None = None,
        train_targets: Sequence[int] | torch.Tensor | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.method, self.config = method, config
        self.student, self.spec = student, spec
        self.teacher, self.teacher_spec = teacher, teacher_spec
        self.vectors = dict(vectors or {})
        self.settings = dict(method.default_settings() if settings is None else settings)
        self.modules: nn.ModuleDict | None = None
        if method.modules is not None:
            if teacher is None:
                raise ValueError(f"method {method.name!r} builds its modules from the teacher's")
            shapes = self._probe(student, spec), self._probe(teacher, teacher_spec)
            targets = None if train_targets is None else torch.as_tensor(train_targets)
            self.modules = method.build_modules(*shapes, self.settings, targets).to(device)
        self._hooks: ExitStack | None = None
        self._student_out: dict[str, torch.Tensor] = {}
        self._teacher_out: dict[str, torch.Tensor] = {}

    # -- which tensors ---------------------------------------------------------------------------
    def _taps(self, spec: FeatureSpec, stage: str) -> list[str]:
        m = self.method
        if stage == "init":
            return m.tap_names(spec, m.init.taps)
        return m.tap_names(spec) if m.loss is not None else []

    def _hook_names(self, spec: FeatureSpec, names: Sequence[str]) -> list[str]:
        if not self.method.preact:
            return list(names)
        recipes = self._recipes(spec)
        return list(dict.fromkeys(p for n in names for p in recipes[n][0]))

    def _recipes(self, spec: FeatureSpec) -> dict:
        if len(spec.preact) != len(spec.feature_stages):
            raise ValueError(
                f"{self.method.label} compares pre-activation outputs (CRD's preact=True), but "
                "this architecture declares none (`preact_taps` in skdlib.models.registry)"
            )
        return dict(zip(spec.feature_stages, spec.preact, strict=True))

    def student_taps(self, stage: str = "main") -> list[str]:
        """The student's compared tensors in ``stage`` (``"main"`` or ``"init"``)."""
        if self.method.static:
            return list(self.vectors) if stage == "main" else []
        if stage == "init" and not self.method.init.student_features:
            return []
        return self._taps(self.spec, stage)

    def teacher_taps(self, stage: str = "main") -> list[str]:
        """The teacher's compared tensors in ``stage``."""
        if self.method.static or self.teacher is None:
            return []
        return self._taps(self.teacher_spec, stage)

    # -- hooks and features ----------------------------------------------------------------------
    def ensure_hooks(self) -> None:
        """Register the forward hooks of both stages (kept until :meth:`close`)."""
        if self._hooks is not None:
            return
        self._hooks = ExitStack()
        stages = ("main", "init") if self.method.init is not None else ("main",)
        s_names = [n for st in stages for n in self.student_taps(st)]
        t_names = [n for st in stages for n in self.teacher_taps(st)]
        s_hooks = dict.fromkeys(self._hook_names(self.spec, s_names))
        if s_hooks:
            self._student_out = self._hooks.enter_context(capture(self.student, list(s_hooks)))
        if t_names:
            t_hooks = dict.fromkeys(self._hook_names(self.teacher_spec, t_names))
            self._teacher_out = self._hooks.enter_context(capture(self.teacher, list(t_hooks)))

    def close(self) -> None:
        """Remove the forward hooks."""
        if self._hooks is not None:
            self._hooks.close()
            self._hooks = None

    def _features(self, out, spec, names, model) -> dict[str, torch.Tensor]:
        if self.method.preact:
            recipes, feats = self._recipes(spec), {}
            for name in names:
                parts, then = recipes[name]
                x = out[parts[0]]
                for part in parts[1:]:
                    x = x + out[part]
                feats[name] = (model.get_submodule(then)(x) if then else x).float()
            return feats
        relu = self.method.relu and spec.preactivation  # losses in float32, also after bf16
        return {n: (F.relu(out[n]) if relu else out[n]).float() for n in names}

    def student_features(self, stage: str = "main") -> dict[str, torch.Tensor]:
        """The student's compared tensors from its last forward pass."""
        return self._features(self._student_out, self.spec, self.student_taps(stage), self.student)

    def teacher_features(self, stage: str = "main") -> dict[str, torch.Tensor]:
        """The targets: the teacher's tensors from its last forward, or a static method's
        vectors."""
        if self.method.static:
            return self.vectors
        with torch.no_grad():
            return self._features(
                self._teacher_out, self.teacher_spec, self.teacher_taps(stage), self.teacher
            )

    def _probe(self, model: nn.Module, spec: FeatureSpec) -> list[torch.Size]:
        names = self.method.tap_names(spec)
        x = torch.zeros(2, 3, spec.input_size, spec.input_size, device=_device_of(model))
        with (
            torch.no_grad(),
            eval_mode(model),
            capture(model, self._hook_names(spec, names)) as out,
        ):
            model(x)
            return [f.shape for f in self._features(out, spec, names, model).values()]

    # -- the terms -------------------------------------------------------------------------------
    def step_inputs(self, **values: Any) -> StepInputs:
        """:class:`~skdlib.distill.methods.StepInputs` of this run with ``values`` (logits,
        labels, index, epoch)."""
        return StepInputs(self.config, self.settings, self.modules, **values)

    def loss(self, step: StepInputs) -> torch.Tensor:
        """The main-stage term from the last forward pass(es)."""
        return self.method.feature_loss(self.student_features(), self.teacher_features(), step)

    def init_loss(self, step: StepInputs) -> torch.Tensor:
        """The initialisation stage's loss from the last forward pass(es)."""
        student = self.student_features("init") if self.method.init.student_features else {}
        return self.method.init_loss(student, self.teacher_features("init"), step)

    # -- what trains -----------------------------------------------------------------------------
    def _children(self, names: Sequence[str]) -> list[nn.Module]:
        if self.modules is None:
            return []
        return [module for name, module in self.modules.items() if name in names]

    def main_parameters(self) -> list[nn.Parameter]:
        """The method's parameters the main stage trains (all but the ``frozen`` modules')."""
        if self.modules is None:
            return []
        kept = [n for n in self.modules if n not in self.method.frozen]
        return [p for m in self._children(kept) for p in m.parameters()]

    def init_parameters(self) -> list[nn.Parameter]:
        """What the initialisation stage trains: the student's feature modules (all but its
        ``head``) and/or the named modules of the method."""
        trains = self.method.init.trains
        params: list[nn.Parameter] = []
        if "student" in trains:
            head = {
                id(p) for h in self.spec.head for p in self.student.get_submodule(h).parameters()
            }
            params += [p for p in self.student.parameters() if id(p) not in head]
        return params + [p for m in self._children(trains) for p in m.parameters()]

    def set_modes(self, stage: str) -> None:
        """Train/eval modes for ``stage``: the main stage trains the student and the modules
        but the frozen ones; the initialisation stage trains only what it trains, the student's
        head (and everything else) in eval mode, as RepDistiller's ``init``."""
        if stage == "main":
            self.student.train()
            if self.modules is not None:
                self.modules.train()
                for m in self._children(self.method.frozen):
                    m.eval()
            return
        trains = self.method.init.trains
        self.student.train("student" in trains)
        for h in self.spec.head:
            self.student.get_submodule(h).eval()
        if self.modules is not None:
            self.modules.eval()
            for m in self._children(trains):
                m.train()


def _device_of(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")
