"""skdlib.embedding.config: paper defaults, JSON round trip, every bad value named."""

import pytest
import torch

from skdlib.config import ConfigError
from skdlib.embedding import EmbeddingConfig


def test_defaults_are_the_papers():
    cfg = EmbeddingConfig()
    assert (cfg.dim, cfg.tau, cfg.exclude_diagonal, cfg.epochs) == (16, 1.0, False, 100)
    assert (cfg.lr, cfg.momentum, cfg.weight_decay, cfg.lr_decay) == (0.1, 0.9, 5e-4, 0.1)
    assert cfg.milestones == (0.5, 0.75, 0.9) and cfg.optimizer == "sgd"


def test_json_round_trip(tmp_path):
    cfg = EmbeddingConfig(dim=8, epochs=3, optimizer="adam", lr=0.01, milestones=(0.5,))
    path = cfg.save(tmp_path / "embedding.json")
    assert EmbeddingConfig.load(path) == cfg
    assert '"milestones": [\n    0.5\n  ]' in path.read_text()


def test_bad_values_name_the_key():
    with pytest.raises(ConfigError, match=r"key 'epochs': expected int, got '5' \(str\)"):
        EmbeddingConfig.from_dict({"epochs": "5"})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['gamma'\].*'lr_decay'"):
        EmbeddingConfig.from_dict({"gamma": 0.1})
    with pytest.raises(ValueError, match="optimizer must be 'sgd' or 'adam'"):
        EmbeddingConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="dim, epochs and steps must be >= 1"):
        EmbeddingConfig(epochs=0)


def test_make_optimizer_follows_the_settings():
    params = [torch.zeros(2, requires_grad=True)]
    sgd = EmbeddingConfig(lr=0.2, momentum=0.5, weight_decay=0.0).make_optimizer(params)
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.param_groups[0]["lr"] == 0.2 and sgd.param_groups[0]["momentum"] == 0.5
    adam = EmbeddingConfig(optimizer="adam", lr=0.01).make_optimizer(params)
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["lr"] == 0.01
