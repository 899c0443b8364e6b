"""skdlib.distill.init_stage: the initialisation stage's epochs and learning rates are
RepDistiller's, and a run killed inside it (or later in the main stage) and restarted reaches
the weights of an uninterrupted run, modules and optimizers included."""

import pytest
import torch
from support.distill_refs import DiesAfter, Killed, assert_same_state, loaders

from skdlib.distill import DistillConfig, DistillTrainer
from skdlib.models import create_model


def trainer(method, student="resnet20", init_seed=0, **cfg):
    """A trainer with the same (random) teacher every time, the student from ``init_seed``."""
    torch.manual_seed(123)
    teacher = create_model("resnet20")
    torch.manual_seed(init_seed)
    return DistillTrainer(
        create_model(student), DistillConfig(method=method, **cfg), student,
        teacher_model=teacher, teacher_arch="resnet20", device="cpu",
    )  # fmt: skip


def test_epochs_and_learning_rates_are_repdistillers():
    assert trainer("ab").init_stage.epochs == 30 and trainer("fsp").init_stage.lr == 0.05
    assert trainer("ft").init_stage.lr == 0.01  # FT's paraphraser, resnet/wrn students
    assert trainer("ft", "vgg8").init_stage.lr == 0.05  # other students: the run's lr
    assert trainer("ft", lr=0.02, init_lr=0.3, init_epochs=4).init_stage.lr == 0.3
    assert trainer("ft", init_epochs=4).init_stage.epochs == 4
    assert trainer("kd").init_stage is None and trainer("ab", init_epochs=0).init_stage.done
    with pytest.raises(ValueError, match="init_epochs must be >= 0"):
        DistillConfig(method="ab", init_epochs=-1)


def test_until_zero_stops_after_the_init_stage(data, tmp_path):
    tr = trainer("fsp", init_epochs=1, epochs=2)
    tr.fit(*loaders(data), out_dir=tmp_path, until=0, progress=False)
    assert tr.init_stage.epoch == 1 and tr.summary.epochs_done == 0
    assert tr.summary.init_epochs_done == 1 and tr.summary.init_seconds > 0
    again = trainer("fsp", init_seed=5, init_epochs=1, epochs=2)
    again.fit(*loaders(data), out_dir=tmp_path, progress=False)  # resumes: no second init epoch
    assert again.init_stage.history == tr.init_stage.history and again.summary.complete


def test_a_run_killed_in_the_init_stage_and_in_the_main_stage_resumes_exactly(data, tmp_path):
    cfg = {"init_epochs": 2, "epochs": 2, "lr": 0.01, "init_lr": 1e-4, "seed": 3}  # FT: both
    train, test = loaders(data)  # 2 batches an epoch
    full = trainer("ft", **cfg)  # every run reads through DiesAfter (a generator, as tqdm sees it)
    full.fit(DiesAfter(train, 10**6), test, out_dir=tmp_path / "full", progress=False)
    cut = tmp_path / "cut"
    with pytest.raises(Killed):  # dies in the second init epoch
        trainer("ft", **cfg).fit(DiesAfter(train, 3), test, out_dir=cut, progress=False)
    with pytest.raises(Killed):  # resumes there, dies in the first main epoch
        trainer("ft", init_seed=7, **cfg).fit(
            DiesAfter(train, 3), test, out_dir=cut, progress=False
        )
    resumed = trainer("ft", init_seed=9, **cfg)  # another init: everything comes from disk
    resumed.fit(DiesAfter(train, 10**6), test, out_dir=cut, progress=False)
    assert resumed.summary.complete and resumed.init_stage.epoch == 2
    assert_same_state(full.student.state_dict(), resumed.student.state_dict())
    assert_same_state(full.term.modules.state_dict(), resumed.term.modules.state_dict())
    assert_same_state(full.optimizer.state_dict(), resumed.optimizer.state_dict())
    assert_same_state(
        full.init_stage.optimizer.state_dict(), resumed.init_stage.optimizer.state_dict()
    )
    assert all(torch.isfinite(p).all() for p in resumed.term.modules.parameters())

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert strip(full.summary.history) == strip(resumed.summary.history)
    assert strip(full.init_stage.history) == strip(resumed.init_stage.history)


def test_a_diverging_init_stage_stops_unsaved(data, tmp_path):
    tr = trainer("fsp", init_epochs=2, init_lr=1e30)
    with pytest.raises(FloatingPointError, match="initialisation stage diverged in its epoch 1"):
        tr.fit(*loaders(data), out_dir=tmp_path, progress=False)
    assert not (tmp_path / "checkpoint.pt").exists()
