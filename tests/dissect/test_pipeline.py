"""skdlib.dissect.pipeline: dissect() equals a slow float64 reference and finds planted concepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support.dissection import LAYERS, TinyNet, reference_dissection
from torch import nn

from skdlib.data import (
    CONCEPTS,
    make_synthetic_broden,
    planted_concept_model,
)
from skdlib.dissect import (
    BrodenDataset,
    DissectionResult,
    dissect,
)
from skdlib.dissect.reader import Reader


@pytest.fixture(scope="module")
def references(small):
    model = TinyNet().eval()
    return {q: reference_dissection(model, LAYERS, small, q, batch=8) for q in (0.995, 0.9)}


@pytest.mark.parametrize(
    ("quantile", "method", "mode", "extra"),
    [
        (0.995, "exact", "annotated", {}),
        (0.995, "streaming", "overlap", {"chunk_elements": 3000}),
        (0.9, "streaming", "annotated", {"cache_bytes": 0, "num_workers": 1}),
        (0.9, "exact", "overlap", {}),
    ],
)
def test_matches_the_slow_float64_reference(small, references, quantile, method, mode, extra):
    result = dissect(
        TinyNet(), LAYERS, small, quantile=quantile, threshold_method=method,
        activation_area=mode, batch_size=8, progress=False, **extra,
    )  # fmt: skip
    ref = references[quantile]
    assert result.concept_numbers == [c.number for c in CONCEPTS]
    for name in LAYERS:
        np.testing.assert_allclose(result.thresholds[name].numpy(), ref[name]["thresholds"],
                                   rtol=1e-6, atol=1e-7)  # fmt: skip
        np.testing.assert_array_equal(result.label_area.numpy(), ref[name]["label_area"])
        np.testing.assert_array_equal(result.intersection[name].numpy(), ref[name]["intersection"])
        np.testing.assert_array_equal(result.activation_area[name].numpy(), ref[name]["area"][mode])
        delta = np.abs(result.iou[name].numpy() - ref[name][mode]).max()
        assert delta <= 1e-4, f"layer {name}: max |dIoU| = {delta}"
    assert result.iou["a"][0].abs().max() == 0  # the dead unit
    assert result.intersection["a"].sum() > 0 and result.intersection["c"].sum() > 0
    assert set(result.meta["seconds"]) == {"data", "forward", "threshold", "top_images", "tally"}
    assert result.meta["cached_activations"] == ("cache_bytes" not in extra)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = make_synthetic_broden(
        tmp_path_factory.mktemp("p") / "b", n_images=48, size=112, seed=0, progress=False
    )
    return root, planted_concept_model(root)


def test_planted_units_find_their_concepts(planted):
    """Unit k is the mask of concept k: IoU >= 0.9 and the right best concept, every unit.

    With binary maps, the quantile threshold is 0 when it lies below 1 - (coverage of the
    concept), so masks are exact; quantile 0.5 puts every concept of this data set in that range.
    """
    root, model = planted
    result = dissect(model, ["units"], str(root), quantile=0.5, batch_size=16, progress=False)
    iou = result.iou["units"]
    present = result.label_area > 0
    assert int(present.sum()) >= 50  # (nearly) every concept occurs in 48 images
    column, score = result.best("units")
    units = torch.arange(len(CONCEPTS))[present]
    assert torch.equal(column[units], units)
    assert bool((iou.diagonal()[units] >= 0.9).all()), iou.diagonal()[units].min()
    assert result.interpretable("units") == len(units)
    assert result.best_concepts("units")[0] == ("red", "color", pytest.approx(float(score[0])))


def test_planted_units_at_the_default_quantile(planted):
    """At q = 0.995 a binary unit covering more than 0.5 % of all pixels has T = 1 and an empty
    mask (strict >); rarer concepts (spots, some colours) are still found exactly."""
    root, model = planted
    result = dissect(model, ["units"], BrodenDataset(root), batch_size=16, progress=False)
    coverage = result.label_area.double() / (48 * 56 * 56)
    total = 48 * 56 * 56
    diag = result.iou["units"].diagonal()
    rare = (coverage > 0) & (coverage < 0.005)
    common = coverage > 0.005 + 1.0 / total
    assert int(rare.sum()) >= 8 and int(common.sum()) >= 30
    assert bool((diag[rare] >= 0.9).all())
    assert torch.equal(result.best("units")[0][rare], torch.arange(len(CONCEPTS))[rare])
    assert bool((diag[common] == 0).all())


def test_dissect_errors_name_the_problem(small):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(3))
    with pytest.raises(ValueError, match=r"layer '2' gives outputs of shape \(8, 3\)"):
        dissect(model, ["2"], small, batch_size=8, progress=False)
    with pytest.raises(KeyError, match="no module named 'fc'"):
        dissect(model, ["fc"], small, progress=False)
    with pytest.raises(ValueError, match="quantile must be in"):
        dissect(model, ["0"], small, quantile=1.0, progress=False)
    with pytest.raises(ValueError, match="threshold_method must be one of"):
        dissect(model, ["0"], small, threshold_method="histogram", progress=False)
    with pytest.raises(ValueError, match="activation_area must be one of"):
        dissect(model, ["0"], small, activation_area="lite", progress=False)


class _InfOnMarked(nn.Module):
    """Sets unit 2 to +inf on the images its ``marks`` list flags (filled by the model)."""

    def __init__(self, marks: list) -> None:
        super().__init__()
        self.marks = marks

    def forward(self, y):
        y = y.clone()
        y[self.marks[-1], 2] = float("inf")
        return y


class InfOn(TinyNet):
    """TinyNet whose layer ``b``, unit 2, is +inf on images whose top-left pixel is bright (from
    its ``finite_calls + 1``-th forward call on)."""

    def __init__(self, finite_calls: int = 0) -> None:
        super().__init__()
        self.marks: list = []
        self.finite_calls = finite_calls
        self.b = nn.Sequential(*self.b, _InfOnMarked(self.marks))

    def forward(self, x):
        bright = x[:, :, 0, 0].mean(1) > 1.0
        self.marks.append(bright & (len(self.marks) >= self.finite_calls))
        return super().forward(x)


def _marked(ds: BrodenDataset) -> list[int]:
    """The images :class:`InfOn` sets to +inf, computed from the files independently."""
    from skdlib.data.normalise import IMAGENET_MEAN, IMAGENET_STD

    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    return [
        i
        for i in range(len(ds))
        if float(((ds[i]["image"][:, 0, 0].float() / 255 - mean) / std).mean()) > 1.0
    ]


def test_non_finite_activations_stop_naming_layer_units_and_images(small):
    """Issue 11, item 1: ±inf activations used to give NaN IoU without a word."""
    from skdlib.hooks import NonFiniteActivationError

    ds = BrodenDataset(small)
    marked = _marked(ds)
    assert 0 < len(marked) < len(ds)
    with pytest.raises(NonFiniteActivationError) as info:
        dissect(InfOn(), ["a", "b"], ds, batch_size=len(ds), num_workers=0, progress=False)
    message = str(info.value)
    assert message.startswith(
        f"layer 'b': non-finite activations (NaN or inf) on {len(marked)} image(s) of batch 1 of "
        f"the first pass (thresholds), at batch positions {marked[:10]}"
    )
    assert "; +inf in unit(s) [2]; " in message and "input normalisation (mean/std)" in message
    for i in marked[:5]:  # the files and their index.csv rows
        assert f"{ds.image_path(i)} (line {ds.records[i].line} of index.csv)" in message
    assert isinstance(info.value, ValueError)  # what dissect() documented before


def test_non_finite_activations_in_the_second_pass_name_the_batch_and_its_images(small):
    """The check runs after every forward pass, also the second (activations not cached)."""
    from skdlib.hooks import NonFiniteActivationError

    ds = BrodenDataset(small)
    marked = _marked(ds)
    with pytest.raises(NonFiniteActivationError) as info:  # the first pass's 3 batches finite
        dissect(InfOn(finite_calls=3), ["a", "b"], ds, batch_size=8, cache_bytes=0, num_workers=0,
                progress=False)  # fmt: skip
    first = [i for i in marked if i < 8]
    assert first, "the generated data set has a marked image in its first batch"
    message = str(info.value)
    assert f"on {len(first)} image(s) of batch 1 of the second pass (tally)" in message
    assert f"at batch positions {first}: {ds.image_path(first[0])} (line " in message


def _assert_identical(result, whole) -> None:
    """Bit for bit: thresholds, counts, label areas, IoU and top images of every layer."""
    for name in LAYERS:
        assert torch.equal(result.thresholds[name], whole.thresholds[name])
        assert torch.equal(result.intersection[name], whole.intersection[name])
        assert torch.equal(result.activation_area[name], whole.activation_area[name])
        assert torch.equal(result.iou[name], whole.iou[name])
        for field in ("score", "image", "maps"):  # the same top images (issue 24)
            assert torch.equal(getattr(result.top_images, field)[name],
                               getattr(whole.top_images, field)[name])  # fmt: skip
    assert result.top_images.files == whole.top_images.files
    assert torch.equal(result.label_area, whole.label_area)


def _count_forwards(pipeline, monkeypatch) -> list:
    forwards: list = []
    real = Reader.forward
    monkeypatch.setattr(Reader, "forward", lambda self, *a: forwards.append(1) or real(self, *a))
    return forwards


@pytest.mark.parametrize("cache_bytes", [0, 1 << 30], ids=["no-cache", "cached"])
def test_a_dissection_interrupted_in_its_second_pass_resumes_to_the_same_result(
    small, tmp_path, monkeypatch, cache_bytes
):
    """Issue 11, item 12: a crash in the second pass used to lose both passes."""
    import skdlib.dissect.pipeline as pipeline

    whole = dissect(TinyNet(), LAYERS, small, batch_size=4, num_workers=0, progress=False)
    run = tmp_path / "run"  # a folder: the checkpoint is run/dissection.ckpt
    real_sets, calls = pipeline.label_sets, []

    def crash_in_batch_4(pixel):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # the 4th tally batch: 3 done, 2 of them saved
        return real_sets(pixel)

    monkeypatch.setattr(pipeline, "label_sets", crash_in_batch_4)
    settings = dict(batch_size=4, num_workers=0, cache_bytes=cache_bytes, progress=False)
    with pytest.raises(KeyboardInterrupt):
        dissect(TinyNet(), LAYERS, small, checkpoint=run, checkpoint_seconds=1e9,
                checkpoint_batches=2, **settings)  # fmt: skip
    monkeypatch.setattr(pipeline, "label_sets", real_sets)
    assert torch.load(run / "dissection.ckpt", weights_only=True)["step"] == 2

    def no_first_pass(*args, **kwargs):
        raise AssertionError("the first pass ran again")

    monkeypatch.setattr(pipeline, "_thresholds", no_first_pass)
    forwards = _count_forwards(pipeline, monkeypatch)
    resumed = dissect(TinyNet(), LAYERS, small, checkpoint=run, **settings)
    assert len(forwards) == 6 - 2  # 24 images in batches of 4: only the unsaved ones
    _assert_identical(resumed, whole)
    # complete now, and kept until the result is saved: a crash in between costs nothing
    assert torch.load(run / "dissection.ckpt", weights_only=True)["step"] == 6
    again = dissect(TinyNet(), LAYERS, small, checkpoint=run, **settings)
    assert len(forwards) == 4  # no forward pass at all
    _assert_identical(again, whole)
    again.save(run)
    assert not (run / "dissection.ckpt").exists()  # removed once the result is saved
    _assert_identical(DissectionResult.load(run), whole)


def test_a_checkpoint_of_another_dissection_is_not_used(small, tmp_path, capsys):
    import skdlib.dissect.pipeline as pipeline
    from skdlib.dissect.resume import DissectCheckpoint, fingerprint

    ckpt = tmp_path / "dissection.ckpt"
    other = TinyNet()
    with torch.no_grad():
        other.b[0].weight.mul_(2)  # other weights
    data = str(Path(small).resolve())
    DissectCheckpoint(ckpt, fingerprint(other, LAYERS, data, 24, {"quantile": 0.9})).save(
        [torch.zeros(8), torch.zeros(6), torch.zeros(5)], 0, force=True
    )
    result = dissect(TinyNet(), LAYERS, small, batch_size=8, checkpoint=ckpt, progress=False)
    printed = capsys.readouterr().out
    assert "belongs to another dissection (it differs in settings, weights)" in printed
    whole = dissect(TinyNet(), LAYERS, small, batch_size=8, progress=False)
    _assert_identical(result, whole)
    saved = torch.load(ckpt, weights_only=True)  # replaced by this run's, complete
    assert (
        saved["fingerprint"]["weights"] == pipeline.fingerprint(TinyNet(), [], "", 0, {})["weights"]
        and saved["step"] == 3
    )
    result.save(tmp_path / "out")
    assert not ckpt.exists()


def test_worker_processes_give_the_same_result(small, monkeypatch):
    """Issue 11, item 12: the default decodes in default_workers() processes; 2 equal 0."""
    import skdlib.dissect.pipeline as pipeline

    serial = dissect(TinyNet(), LAYERS, small, batch_size=8, num_workers=0, progress=False)
    parallel = dissect(TinyNet(), LAYERS, small, batch_size=8, num_workers=2, progress=False)
    _assert_identical(parallel, serial)
    seen = []
    real = pipeline.make_loader

    def recorded(*args, **kwargs):
        loader = real(*args, **kwargs)
        seen.append(loader.num_workers)
        return loader

    monkeypatch.setattr("skdlib.loaders.default_workers", lambda: 2)
    monkeypatch.setattr(pipeline, "make_loader", recorded)
    dissect(TinyNet(), ["a"], small, batch_size=24, progress=False)
    assert seen == [2, 2]  # one loader per pass: images for the first, labels for the second


def test_without_workers_batches_are_collated_on_one_torch_thread_and_the_model_on_all(
    small, monkeypatch
):
    """On a 2-core machine shared with other work, collating on 2 torch threads took 3.6-16
    ms/image instead of 0.2 (``benchmarks/bench_loading.py``)."""
    import skdlib.dissect.pipeline as pipeline

    collated, forwards = [], []
    real = pipeline.collate_broden
    monkeypatch.setattr(
        pipeline, "collate_broden", lambda s: collated.append(torch.get_num_threads()) or real(s)
    )
    model = TinyNet()
    model.register_forward_hook(lambda *a: forwards.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        dissect(model, LAYERS, small, batch_size=8, num_workers=0, cache_bytes=0, progress=False)
    finally:
        torch.set_num_threads(before)
    assert collated == [1] * 6 and forwards == [2] * 6  # 3 batches, two passes


def test_the_broden_dataset_pickles_and_keeps_no_file_open(small):
    """What worker processes need (spawn/forkserver start methods pickle the data set): a
    copy that reads the same items, and no file handle shared between processes."""
    import os
    import pickle

    ds = BrodenDataset(small)
    copy = pickle.loads(pickle.dumps(ds))
    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    for i in (0, 7, len(ds) - 1):
        a, b = ds[i], copy[i]
        assert a["path"] == b["path"] and torch.equal(a["image"], b["image"])
        assert torch.equal(a["pixel_labels"], b["pixel_labels"])
    if fds is not None:
        assert len(os.listdir("/proc/self/fd")) == fds  # every file closed after reading


def test_an_incomplete_broden_stops_before_the_first_pass(tmp_path):
    """A folder missing files (an interrupted unzip) used to fail midway through a dissection."""
    import shutil

    from skdlib.dissect.broden import IncompleteBrodenError

    root = make_synthetic_broden(tmp_path / "b", 8, size=32, seed=3, progress=False)
    copy = Path(shutil.copytree(root, tmp_path / "copy"))
    gone = sorted((copy / "images").rglob("*.jpg"))[-1]
    gone.unlink()
    calls = []
    model = TinyNet()
    model.register_forward_hook(lambda *a: calls.append(1))
    with pytest.raises(IncompleteBrodenError, match=f"1 of the .* missing .*{gone.name}"):
        dissect(model, LAYERS, copy, batch_size=4, progress=False)
    assert calls == []  # nothing was run


@pytest.fixture(scope="module")
def multisource(tmp_path_factory):
    """A generated Broden with real Broden's label statistics: four sources annotating their
    own categories, dozens of objects with two part layers, labels in two categories."""
    return make_synthetic_broden(
        tmp_path_factory.mktemp("ms") / "b", 24, size=64, seed=3, statistics="broden",
        progress=False,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["annotated", "overlap"])
def test_both_area_rules_match_the_reference_at_real_broden_statistics(multisource, mode):
    """``annotated`` is the paper's definition (a unit's area counts for category c on every
    image that carries a label of c anywhere, so an image without any c label adds nothing to
    c's denominator); ``overlap`` is NetDissect-Lite's code (only images where the unit's mask
    touches a c label, or that carry a whole-image c label). Both, at these statistics, equal the
    independent float64 loops of tests/support/dissection.py."""
    ref = reference_dissection(TinyNet().eval(), LAYERS, multisource, 0.9, batch=8)
    result = dissect(TinyNet(), LAYERS, multisource, quantile=0.9, activation_area=mode,
                     batch_size=8, progress=False)  # fmt: skip
    assert len(result.concept_numbers) == 1070
    sources = {p.name for p in (multisource / "images").iterdir()}
    assert len(sources) >= 3  # the images come from several sources
    for name in LAYERS:
        np.testing.assert_array_equal(result.label_area.numpy(), ref[name]["label_area"])
        np.testing.assert_array_equal(result.intersection[name].numpy(), ref[name]["intersection"])
        np.testing.assert_array_equal(result.activation_area[name].numpy(), ref[name]["area"][mode])
        assert np.abs(result.iou[name].numpy() - ref[name][mode]).max() <= 1e-4
    other = "overlap" if mode == "annotated" else "annotated"
    assert not np.array_equal(ref["b"]["area"][mode], ref["b"]["area"][other])  # they differ
