"""skdlib.viz.figures: light masks by hand; Fig. 2 and Fig. 3 show the units the embedding names."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skdlib.viz import (
    light_mask,
    plot_additive,
    plot_neighbours,
    save_figure,
)


def test_light_mask_keeps_firing_region_bright_and_dims_the_rest():
    image = np.full((8, 8, 3), 200, np.uint8)
    amap = torch.zeros(2, 2)
    amap[0, 0] = 1.0
    out = light_mask(image, amap, low=0.0, high=1.0, floor=0.25)
    up = F.interpolate(amap[None, None], size=(8, 8), mode="bilinear", align_corners=False)[0, 0]
    expected = 200 / 255 * (0.25 + 0.75 * up.clamp(0, 1).numpy())
    np.testing.assert_allclose(out[..., 0], expected, rtol=1e-6)
    assert out[0, 0, 0] == pytest.approx(200 / 255) and out[7, 7, 0] == pytest.approx(50 / 255)


def titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_plot_neighbours_shows_each_unit_with_its_nearest(toy, tmp_path):
    emb, images, maps = toy
    fig = plot_neighbours(emb, "l", [0, 3], images, maps, k=2, n_images=2, concept_names={0: "red"})
    assert len(fig.axes) == 2 * 2 * 3
    shown = titles(fig)
    for unit in (0, 3):
        expected = [f"unit {unit}"] + [
            f"unit {u}  cos {c:.2f}" for u, c in emb.nearest("l", unit, k=2)
        ]
        for label in expected:
            assert any(t.startswith(label) for t in shown), (label, shown)
    assert "unit 0\nred" in shown
    path = save_figure(fig, tmp_path / "figs" / "nb.png")
    assert path.stat().st_size > 1000
    plt.close(fig)


def test_a_figure_that_fails_to_save_keeps_the_old_file(tmp_path, monkeypatch):
    """A full disk mid-write leaves the previous PNG whole and no temporary file behind."""
    import errno

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = save_figure(fig, tmp_path / "f.png")
    good = path.read_bytes()
    assert good.startswith(b"\x89PNG")

    def half_then_full(handle, **kwargs):
        handle.write(b"\x89PNG partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fig, "savefig", half_then_full)
    with pytest.raises(OSError, match=f"could not write {path}: no space left on device"):
        save_figure(fig, path)
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["f.png"]
    plt.close(fig)


def test_plot_additive_shows_a_b_and_the_nearest_c(toy):
    emb, images, maps = toy
    fig = plot_additive(emb, "l", 1, 2, images, maps, n_images=2)
    c, cos = emb.additive("l", 1, 2)[0]
    assert titles(fig) == ["a = unit 1", "b = unit 2", f"c = unit {c} (cos {cos:.2f} to a+b)"]
    assert len(fig.axes) == 2 * 3
    plt.close(fig)


def test_the_thresholded_mask_is_upsample_above_t_dimmed_outside_and_outlined():
    """The report's strips (issue 24): ``upsample(A) > T`` against a float64 bilinear loop, the
    outline against scipy's dilation, a batch equal to one image at a time."""
    from scipy.ndimage import binary_dilation
    from support.dissection import bilinear_ref

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (2, 3, 20, 20, 3), dtype=np.uint8)
    maps = torch.from_numpy(rng.standard_normal((2, 3, 6, 4)).astype(np.float32))
    t = np.array([[0.3, 0.9, -0.2], [0.0, 1.1, 0.5]])
    batch = light_mask(images, maps, floor=0.2, threshold=t, outline=(0.0, 1.0, 1.0))
    pixels = light_mask(images, maps, floor=0.2, threshold=t, outline=(0.0, 1.0, 1.0),
                        as_uint8=True)  # fmt: skip
    np.testing.assert_array_equal(pixels, (batch * 255).round().astype(np.uint8))
    for i in range(2):
        for j in range(3):
            one = light_mask(images[i, j], maps[i, j], floor=0.2, threshold=t[i, j],
                             outline=(0.0, 1.0, 1.0))  # fmt: skip
            np.testing.assert_array_equal(one, batch[i, j])
            up = bilinear_ref(maps[i, j].numpy(), 20, 20)
            inside = up > t[i, j]
            ring = binary_dilation(inside, np.ones((3, 3), bool)) & ~inside
            unsure = binary_dilation(np.abs(up - t[i, j]) < 1e-5, np.ones((3, 3), bool))
            image = images[i, j] / 255
            want = np.where(inside[..., None], image, 0.2 * image)
            want[ring] = (0.0, 1.0, 1.0)
            np.testing.assert_allclose(one[~unsure], want[~unsure], atol=1e-6)
    with pytest.raises(ValueError, match="needs low and high"):
        light_mask(images[0, 0], maps[0, 0])
    with pytest.raises(ValueError, match="outline draws the thresholded mask"):
        light_mask(images[0, 0], maps[0, 0], 0.0, 1.0, outline=(1, 1, 0))


def test_float32_maps_are_compared_with_float64_thresholds_exactly():
    from skdlib.viz.figures import _below

    rng = np.random.default_rng(0)
    t = torch.from_numpy(rng.standard_normal(2000))
    t[:5] = torch.tensor([0.5, -1.0, 0.0, 1e-45, 3.0])  # representable ones too
    x = t.float()  # the nearest float32 values, on either side of t
    for step in (x, torch.nextafter(x, torch.tensor(np.inf)), torch.nextafter(x, -x.abs() - 1)):
        assert torch.equal(step > _below(t), step.double() > t)


def test_maps_on_shared_images_equal_maps_on_their_own_copies():
    """``which`` (the report's strips: many units' maps on a few hundred images) draws what
    gathering the images first draws, in both output types."""
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (4, 12, 12, 3), dtype=np.uint8)
    which = rng.integers(0, 4, (3, 5))
    maps = torch.from_numpy(rng.standard_normal((3, 5, 3, 3)).astype(np.float32))
    t = rng.standard_normal((3, 5))
    for as_uint8 in (False, True):
        shared = light_mask(images, maps, floor=0.2, threshold=t, outline=(1.0, 0.0, 0.0),
                            as_uint8=as_uint8, which=which)  # fmt: skip
        copied = light_mask(images[which], maps, floor=0.2, threshold=t, outline=(1.0, 0.0, 0.0),
                            as_uint8=as_uint8)  # fmt: skip
        np.testing.assert_array_equal(shared, copied)
    dimmed = np.round(images * np.float32(0.2)).astype(np.uint8)  # computed once, given
    again = light_mask(images, maps, floor=0.2, threshold=t, outline=(1.0, 0.0, 0.0),
                       as_uint8=True, which=which, dimmed=dimmed)  # fmt: skip
    np.testing.assert_array_equal(again, copied)
    soft = light_mask(images, maps, 0.0, 1.0, which=which)
    np.testing.assert_array_equal(soft, light_mask(images[which], maps, 0.0, 1.0))
