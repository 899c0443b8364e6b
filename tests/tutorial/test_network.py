"""skdlib.tutorial.network: multi-label concept training learns and its weights are cached by
settings.
"""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from skdlib.tutorial.network import (
    load_or_train,
    multilabel_scores,
    train_concept_classifier,
)


def toy_data(n=96, seed=0):
    """Label j is on iff the mean of input channel j is positive: learnable by a linear probe."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 4, 4, generator=g)
    y = (x.mean((2, 3)) > 0).float()
    return TensorDataset(x, y)


def toy_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 3))


def test_training_lowers_the_loss_and_reaches_high_accuracy():
    model = toy_model()
    history = train_concept_classifier(
        model, toy_data(), epochs=15, batch_size=16, lr=0.05, progress=False
    )
    assert history["loss"][-1] < history["loss"][0] - 0.1
    x, y = toy_data(200, seed=1).tensors
    with torch.no_grad():
        scores = multilabel_scores(model(x), y)
    assert scores["label_accuracy"] > 0.9
    assert not model.training


def test_multilabel_scores_by_hand():
    logits = torch.tensor([[1.0, -1.0, 2.0], [-1.0, -1.0, 1.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert multilabel_scores(logits, targets) == {
        "label_accuracy": pytest.approx(5 / 6),
        "exact_match": 0.5,
    }


def test_wrong_output_width_is_a_clear_error():
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 5))
    with pytest.raises(ValueError, match=r"outputs \(16, 5\) but targets are \(16, 3\)"):
        train_concept_classifier(model, toy_data(), epochs=1, batch_size=16, progress=False)


def test_load_or_train_reuses_matching_weights_and_retrains_otherwise(tmp_path):
    path = tmp_path / "w.pt"
    kwargs = {"dataset": toy_data(), "epochs": 2, "batch_size": 16, "progress": False}
    trained, info = load_or_train(toy_model(), path, kwargs)
    fresh = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 3))
    loaded, info2 = load_or_train(fresh, path, kwargs)
    assert torch.equal(loaded[2].weight, trained[2].weight)
    assert info2["history"] == info["history"]
    other, info3 = load_or_train(toy_model(), path, {**kwargs, "epochs": 3})
    assert len(info3["history"]["loss"]) == 3
