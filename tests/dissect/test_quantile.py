"""skdlib.dissect: exact streaming quantiles against numpy's float64 quantile."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skdlib.dissect import StreamingQuantile, exact_quantile, tail_size


def _rows(n: int, seed: int = 0) -> torch.Tensor:
    """Rows of different kinds: normal, ReLU (many tied zeros), few distinct values, constant,
    ascending and descending order (worst cases for a running top-k)."""
    g = torch.Generator().manual_seed(seed)
    normal = torch.randn(n, generator=g)
    return torch.stack(
        [
            normal,
            torch.relu(torch.randn(n, generator=g) - 2.0),
            torch.randint(0, 4, (n,), generator=g).float(),
            torch.full((n,), 3.25),
            torch.sort(normal).values,
            torch.sort(normal, descending=True).values,
        ]
    )


def _numpy(values: torch.Tensor, q: float) -> np.ndarray:
    return np.quantile(values.double().numpy(), q, axis=1)


@pytest.mark.parametrize("q", [0.995, 0.9, 0.5, 0.3, 0.005, 0.0, 1.0])
def test_exact_quantile_matches_numpy(q):
    values = _rows(1237)
    np.testing.assert_allclose(exact_quantile(values, q).numpy(), _numpy(values, q), rtol=1e-12)


@pytest.mark.parametrize("q", [0.995, 0.99, 0.5, 0.2, 0.0, 1.0])
@pytest.mark.parametrize("n", [1, 7, 20011])
def test_streaming_equals_exact_quantile(q, n):
    """Error against the exact quantile: none beyond float64 rounding, in any chunking."""
    values = _rows(n, seed=n)
    rng = np.random.default_rng(n)
    est = StreamingQuantile(q, rows=values.shape[0], total=n)
    start = 0
    while start < n:  # random chunk sizes, including empty ones
        width = int(rng.integers(0, 600))
        est.update(values[:, start : start + width])
        start += width
    got = est.result().numpy()
    np.testing.assert_allclose(got, _numpy(values, q), rtol=1e-12, atol=0)


def test_streaming_memory_is_the_tail_only():
    n, q, chunk = 400_000, 0.995, 5000
    values = _rows(n, seed=3)
    est = StreamingQuantile(q, rows=values.shape[0], total=n)
    k = tail_size(q, n)
    assert k == n - int(np.floor(q * (n - 1)))
    peak = 0
    for part in values.split(chunk, dim=1):
        est.update(part)
        peak = max(peak, est.stored)
    assert peak <= k + max(k, 4096) + chunk  # never more than twice the tail plus one chunk
    assert peak < n // 50
    np.testing.assert_allclose(est.result().numpy(), _numpy(values, q), rtol=1e-12)


def test_streaming_float64_input_and_devices_keep_values():
    values = torch.tensor([[1.0, 5.0, 2.0, 4.0, 3.0]], dtype=torch.float64)
    est = StreamingQuantile(0.75, rows=1, total=5, device="cpu")
    est.update(values)
    assert est.result().tolist() == [4.0]


def test_streaming_errors_are_clear():
    est = StreamingQuantile(0.9, rows=2, total=4)
    with pytest.raises(ValueError, match=r"expected a \(2, n\) chunk"):
        est.update(torch.zeros(3, 2))
    est.update(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="needs all 4 values per row, got 3"):
        est.result()
    with pytest.raises(ValueError, match="more values than announced"):
        est.update(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="NaN"):
        StreamingQuantile(0.9, rows=1, total=2).update(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="q must be in"):
        StreamingQuantile(1.5, rows=1, total=2)
    with pytest.raises(ValueError, match="rows and total"):
        StreamingQuantile(0.5, rows=0, total=2)
    with pytest.raises(ValueError, match=r"\(rows, N >= 1\)"):
        exact_quantile(torch.zeros(3), 0.5)


def test_a_strided_view_of_activations_gives_the_exact_quantile():
    """dissect() feeds ``acts.transpose(0, 1)`` — a (U, B, h, w) view of (B, U, h, w) batches —
    which the estimator compares in memory order; ties (ReLU zeros) included."""
    g = torch.Generator().manual_seed(5)
    batches = [torch.relu(torch.randn(6, 4, 5, 5, generator=g)).round(decimals=1) for _ in range(7)]
    for q in (0.995, 0.9, 0.5, 0.1):
        est = StreamingQuantile(q, 4, 7 * 6 * 25)
        for b in batches:
            est.update(b.transpose(0, 1))
        whole = torch.cat([b.transpose(0, 1).flatten(1) for b in batches], 1)
        assert torch.equal(est.result(), exact_quantile(whole, q)), q
