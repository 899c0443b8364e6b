"""skdlib.runtime: device choice, and modes that always restore what they changed."""

import pytest
import torch
from torch import nn

from skdlib.runtime import cpu_threads, eval_mode, frozen, model_device, resolve_device


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device().type == expected and resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")


def test_model_device():
    assert model_device(nn.Linear(1, 1)) == torch.device("cpu")
    assert model_device(nn.ReLU()) == torch.device("cpu")  # no parameters


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_restores_the_mode_also_after_an_exception(training):
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).train(training)
    with eval_mode(net):
        assert not net.training and not net[1].training
    assert net.training is training and net[1].training is training
    with pytest.raises(ZeroDivisionError), eval_mode(net):
        raise ZeroDivisionError
    assert net.training is training


def test_frozen_restores_only_the_parameters_that_were_trainable():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).train()
    net[1].bias.requires_grad_(False)  # a parameter the user froze stays frozen
    with pytest.raises(KeyError), frozen(net):
        assert not any(p.requires_grad for p in net.parameters()) and not net.training
        raise KeyError
    assert [p.requires_grad for p in net.parameters()] == [True, True, True, False]
    assert net.training


def test_cpu_threads_limits_and_restores_also_on_error():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with cpu_threads(1) as n:
            assert n == 1 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), cpu_threads(1):
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
        with cpu_threads(4) as n:  # never raises the count
            assert n == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
