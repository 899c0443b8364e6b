"""skdlib.loaders: how many workers, pinning, persistence and seeding — one rule for every job."""

import pytest
import torch
from torch.utils.data import TensorDataset

import skdlib.loaders as loaders
from skdlib.loaders import make_loader


@pytest.mark.parametrize(
    ("cpus", "env", "expected"),
    [
        (1, None, 0),
        (2, None, 0),
        (3, None, 2),
        (16, None, 8),
        (64, None, 8),
        (16, "0", 0),
        (2, "5", 5),
    ],
)
def test_default_workers(monkeypatch, cpus, env, expected):
    monkeypatch.setattr(loaders.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    if env is None:
        monkeypatch.delenv(loaders.WORKERS_ENV, raising=False)
    else:
        monkeypatch.setenv(loaders.WORKERS_ENV, env)
    assert loaders.default_workers() == expected


def test_default_workers_rejects_a_bad_setting(monkeypatch):
    monkeypatch.setenv(loaders.WORKERS_ENV, "many")
    with pytest.raises(ValueError, match="SKD_WORKERS must be a whole number >= 0, got 'many'"):
        loaders.default_workers()


def test_default_workers_without_sched_getaffinity_counts_cpu_count(monkeypatch):
    """Not on Linux (macOS, Windows): ``os.cpu_count()``; a blank SKD_WORKERS is unset."""
    monkeypatch.delattr(loaders.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(loaders.os, "cpu_count", lambda: 4)
    monkeypatch.setenv(loaders.WORKERS_ENV, " ")
    assert loaders.default_workers() == 3
    monkeypatch.setattr(loaders.os, "cpu_count", lambda: None)  # unknown: as one CPU
    assert loaders.default_workers() == 0


def test_the_seed_fixes_the_order_and_equals_a_seeded_dataloader():
    """The shuffled order of ``seed=s`` is torch's own for a generator seeded with s."""
    data = TensorDataset(torch.arange(20))
    ours = [b[0].tolist() for b in make_loader(data, 6, shuffle=True, seed=3, workers=0)]
    again = [b[0].tolist() for b in make_loader(data, 6, shuffle=True, seed=3, workers=0)]
    reference = torch.utils.data.DataLoader(
        data, 6, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
    assert ours == again == [b[0].tolist() for b in reference]
    other = [b[0].tolist() for b in make_loader(data, 6, shuffle=True, seed=4, workers=0)]
    assert other != ours and sorted(sum(other, [])) == list(range(20))


def test_workers_pinning_and_persistence_follow_the_rules(monkeypatch):
    data = TensorDataset(torch.zeros(8, 2))
    monkeypatch.setenv(loaders.WORKERS_ENV, "2")
    loader = make_loader(data, 4)  # workers=None: default_workers()
    assert loader.num_workers == 2 and loader.persistent_workers and not loader.pin_memory
    serial = make_loader(data, 4, workers=0, drop_last=True)
    assert serial.num_workers == 0 and not serial.persistent_workers and len(serial) == 2
    if torch.cuda.is_available():
        assert make_loader(data, 4, workers=0, device="cuda").pin_memory
    with pytest.raises(ValueError, match="workers must be >= 0"):
        make_loader(data, 4, workers=-1)


def test_a_sampler_orders_the_batches_and_shuffle_is_ignored():
    data = TensorDataset(torch.arange(6))
    sampler = torch.utils.data.SequentialSampler(range(6))
    loader = make_loader(data, 3, shuffle=True, sampler=sampler, workers=0)
    assert [b[0].tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]]


def test_importing_the_module_loads_no_torch():
    """The command line reads WORKERS_ENV from here while answering --help."""
    import subprocess
    import sys

    code = "import sys, skdlib.loaders; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
