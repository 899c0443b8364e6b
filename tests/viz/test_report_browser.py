"""The dissection report as a person opens it: headless Chromium on file:// URLs (no server), from
index.html to every layer's page by its links; every picture loads, every unit has a tile, the
tiles are in the order of their IoUs, and the console stays clean (issue 24's acceptance).

Needs Debian's ``chromium`` and ``chromium-driver`` and selenium, like the explorer's browser
test; where they are missing it fails and says what to install, and ``SKD_SKIP_BROWSER=1`` skips
it on purpose. It leaves screenshots of the index and of a layer's page under
``runs/smoke/figures/`` of the repository.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
from support.jupyterlab import browser_available, chromium, wait_for

from skdlib.data import make_synthetic_broden, planted_concept_model
from skdlib.dissect import dissect
from skdlib.models import create_model
from skdlib.tutorial import OutputFolder
from skdlib.viz.dissection_report import page_names, unit_order, write_report

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.environ.get("SKD_SKIP_BROWSER") == "1", reason="SKD_SKIP_BROWSER=1 was set"
)

#: Every <img> of the page, once all have finished loading: [src, naturalWidth, naturalHeight].
IMAGES = """
const imgs = Array.from(document.images);
if (!imgs.every(i => i.complete)) return null;
return imgs.map(i => [i.getAttribute('src'), i.naturalWidth, i.naturalHeight]);
"""
TILES = """
return Array.from(document.querySelectorAll('.unit')).map(
    t => [Number(t.dataset.unit), Number(t.dataset.iou), t.querySelector('.label').textContent]);
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Two reports on a generated Broden: the planted model (unit k is concept k) and a random
    ResNet18's layer1 and layer3."""
    base = tmp_path_factory.mktemp("report")
    root = make_synthetic_broden(base / "b", 32, size=64, seed=5, progress=False)
    planted = dissect(planted_concept_model(root), ["units"], root, quantile=0.5,
                      batch_size=16, progress=False, arch="planted")  # fmt: skip
    torch.manual_seed(0)
    random = dissect(create_model("resnet18"), ["layer1", "layer3"], root, batch_size=16,
                     progress=False, arch="resnet18 (random weights)")  # fmt: skip
    return [
        (planted, write_report(planted, base / "planted")),
        (random, write_report(random, base / "random")),
    ]


def check_images(driver, where: str) -> list:
    shown = wait_for(lambda: driver.execute_script(IMAGES), 30, f"the pictures of {where}")
    broken = [src for src, width, height in shown if not (width > 0 and height > 0)]
    assert broken == [], f"{where}: pictures that did not load: {broken[:5]}"
    return shown


def test_every_picture_loads_every_unit_has_a_tile_in_iou_order(reports, tmp_path):
    missing = browser_available()
    assert missing is None, (
        f"the browser test needs {missing}: apt-get install chromium chromium-driver, "
        "pip install -e '.[test]' (or set SKD_SKIP_BROWSER=1 to skip it on purpose)"
    )
    from selenium.webdriver.common.by import By

    shots = []
    with chromium(tmp_path / "chromium", width=1400, height=1000) as driver:
        for result, index in reports:
            driver.get(index.as_uri())
            assert driver.title == "network dissection"
            charts = check_images(driver, index.name)
            assert len(charts) == len(result.layers)  # one bar chart per layer
            links = {
                a.text: a.get_attribute("href")
                for a in driver.find_elements(By.CSS_SELECTOR, "table a")
            }
            assert list(links) == result.layers
            stems = page_names(result.layers)
            for layer in result.layers:
                assert links[layer] == (index.parent / f"{stems[layer]}.html").as_uri()
                driver.get(links[layer])
                shown = check_images(driver, f"{layer}.html")
                tiles = driver.execute_script(TILES)
                units = [u for u, _, _ in tiles]
                best = result.best(layer)[1].tolist()
                assert sorted(units) == list(range(len(best))), f"{layer}: a tile per unit"
                assert units == unit_order(result, layer)
                ious = [iou for _, iou, _ in tiles]
                assert ious == sorted(ious, reverse=True)
                assert ious == [best[u] for u in units]  # the IoUs the result holds
                names = [name for _, _, name in tiles]
                assert names == [result.best_concepts(layer)[u][0] for u in units]
                assert len(shown) == len(units) + 1  # a strip per tile and the chart
                k = result.top_images.k
                strip = next(w for src, w, h in shown if src.endswith(".jpg"))
                assert strip == k * 64 + (k - 1) * 3  # k images of 64 px and the gaps
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
        # what a person sees: the planted model's index and page
        result, index = reports[0]
        driver.get(index.as_uri())
        check_images(driver, "index")
        driver.save_screenshot(str(tmp_path / "report_index.png"))
        driver.get((index.parent / "units.html").as_uri())
        check_images(driver, "units.html")
        driver.save_screenshot(str(tmp_path / "report_units.png"))
        shots = [tmp_path / "report_index.png", tmp_path / "report_units.png"]
    figures = OutputFolder("smoke", root=ROOT / "runs").path("figures")
    figures.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        assert shot.read_bytes()[:4] == b"\x89PNG"
        shutil.copy(shot, figures / f"dissection_{shot.name}")
