"""skdlib.distill.config: CRD defaults, the weights each method resolves to, JSON, clear errors."""

import pytest

from skdlib.config import ConfigError
from skdlib.distill import DistillConfig


def test_defaults_are_the_crd_protocol():
    cfg = DistillConfig()
    assert (cfg.method, cfg.epochs, cfg.batch_size, cfg.lr) == ("none", 240, 64, 0.05)
    assert (cfg.momentum, cfg.weight_decay, cfg.lr_decay) == (0.9, 5e-4, 0.1)
    assert cfg.milestones == (0.625, 0.75, 0.875) and cfg.kd_temperature == 4.0
    assert (cfg.skd_tau, cfg.skd_exclude_diagonal) == (1.0, False)


def test_weights_come_from_the_method_unless_overridden():
    assert DistillConfig(method="kd").weights() == {"ce": 0.1, "kd": 0.9, "beta": 0.0}
    assert DistillConfig(method="skd").weights("vgg13", "vgg8")["beta"] == 0.05
    override = DistillConfig(method="skd", beta=2, ce_weight=0, kd_weight=0.5)
    assert override.weights("vgg13", "vgg8") == {"ce": 0.0, "kd": 0.5, "beta": 2.0}


def test_json_round_trip(tmp_path):
    cfg = DistillConfig(method="at", epochs=5, beta=500.0, milestones=(0.5,))
    assert DistillConfig.load(cfg.save(tmp_path / "run.json")) == cfg


def test_errors_name_the_key_or_the_method():
    with pytest.raises(ValueError, match="unknown method 'hint'; expected one of none, kd"):
        DistillConfig(method="hint")
    with pytest.raises(ConfigError, match=r"key 'epochs': expected int, got '5' \(str\)"):
        DistillConfig.from_dict({"epochs": "5"})
    with pytest.raises(ConfigError, match=r"key 'beta': expected float \| None, got 'high'"):
        DistillConfig.from_dict({"beta": "high"})
    with pytest.raises(ValueError, match="epochs and batch_size must be >= 1"):
        DistillConfig(batch_size=0)
