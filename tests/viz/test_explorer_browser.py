"""The explorer as a person uses it: JupyterLab on 127.0.0.1, notebook 06 (smoke profile) in
headless Chromium, Run All from the menu, then layer, neuron and concept changed through the page.

Needs Debian's ``chromium`` and ``chromium-driver`` and selenium (``.ci/run`` installs them). Where
they are missing the test fails and says what to install; ``SKD_SKIP_BROWSER=1`` skips it on
purpose. Besides its assertions it leaves, under ``runs/<profile>/figures/`` of the repository, a
screenshot of the explorer after a concept search and the seconds each change took to show.
"""

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from support.jupyterlab import browser_available, chromium, jupyterlab, wait_for

from skdlib.tutorial import OutputFolder
from skdlib.viz.panels import PANEL_PX

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/06_neuron_explorer.ipynb"

pytestmark = pytest.mark.skipif(
    os.environ.get("SKD_SKIP_BROWSER") == "1", reason="SKD_SKIP_BROWSER=1 was set"
)


class Page:
    """The explorer's widget in the page: its controls by label, its view's text and pictures."""

    def __init__(self, driver):
        from selenium.webdriver.common.by import By

        self.driver, self.by = driver, By

    def root(self):
        views = self.driver.find_elements(self.by.CSS_SELECTOR, ".widget-vbox .skd-explorer")
        assert len(views) == 1, f"{len(views)} live explorer views in the page"
        return views[0]

    def header(self) -> str:
        return self.root().find_element(self.by.CSS_SELECTOR, ".skd-header").text

    def pictures(self) -> list[str]:
        return [
            img.get_attribute("src")
            for img in self.root().find_elements(self.by.CSS_SELECTOR, "img")
        ]

    def control(self, label: str):
        for box in self.driver.find_elements(self.by.CSS_SELECTOR, ".widget-inline-hbox"):
            names = box.find_elements(self.by.CSS_SELECTOR, ".widget-label")
            if names and names[0].text == label:
                return box.find_element(self.by.CSS_SELECTOR, "input, select")
        raise AssertionError(f"no control labelled {label!r}")

    def type_into(self, label: str, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        field = self.control(label)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACKSPACE)
        field.send_keys(text, Keys.ENTER)

    def set_readout(self, label: str, text: str) -> None:
        """Type into a slider's editable readout, as a person can."""
        from selenium.webdriver.common.keys import Keys

        for box in self.driver.find_elements(self.by.CSS_SELECTOR, ".widget-slider"):
            if box.find_element(self.by.CSS_SELECTOR, ".widget-label").text == label:
                readout = box.find_element(self.by.CSS_SELECTOR, ".widget-readout")
                readout.click()
                readout.send_keys(Keys.CONTROL, "a")
                readout.send_keys(text, Keys.ENTER)
                return
        raise AssertionError(f"no slider labelled {label!r}")

    def select(self, label: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.control(label)).select_by_value(value)

    def change(self, action, expect: str, timings: dict, name: str, pictures=True) -> str:
        """Do ``action``; wait until the header shows ``expect`` (and, with ``pictures``, other
        pictures); time it; return the header."""
        before = self.pictures()
        start = time.perf_counter()
        action()
        header = wait_for(
            lambda: (h := self.header()) and re.search(expect, h) and h, 30, f"header ~ {expect}"
        )
        if pictures:
            wait_for(lambda: self.pictures() != before, 10, f"new pictures after {name}")
        timings[name] = round(time.perf_counter() - start, 3)
        return header


def kernel_status(driver, by) -> str:
    """The notebook's kernel status as its toolbar shows it ("idle", "busy", ...)."""
    indicator = driver.find_element(by.CSS_SELECTOR, ".jp-Notebook-ExecutionIndicator")
    return indicator.get_attribute("data-status") or ""


def notebook_text(driver, by) -> str:
    return driver.find_element(by.CSS_SELECTOR, ".jp-Notebook").text


def run_all(driver, by) -> None:
    """Run > Run All Cells, from the menu bar."""
    menu = wait_for(
        lambda: (
            [m for m in driver.find_elements(by.CSS_SELECTOR, ".lm-MenuBar-item") if m.text]
            and next(
                m
                for m in driver.find_elements(by.CSS_SELECTOR, ".lm-MenuBar-item")
                if m.text == "Run"
            )
        ),
        60,
        "the Run menu",
    )
    menu.click()
    wait_for(
        lambda: driver.find_element(by.CSS_SELECTOR, '[data-command="runmenu:run-all"]'),
        10,
        "Run All Cells",
    ).click()


def started(driver, by) -> bool:
    """Whether some code cell has begun to run: its prompt shows ``[*]`` or a count."""
    prompts = [p.text.strip() for p in driver.find_elements(by.CSS_SELECTOR, ".jp-InputPrompt")]
    return any(p and p != "[ ]:" for p in prompts)


def run_all_until_started(driver, by, attempts: int = 3) -> None:
    """Run All, again if a busy machine swallowed the click (no cell started within 30 s)."""
    for attempt in range(1, attempts + 1):
        run_all(driver, by)
        try:
            wait_for(lambda: started(driver, by), 30, "a cell to start", poll=0.5)
            return
        except AssertionError:
            if attempt == attempts:
                raise
            driver.find_element(by.TAG_NAME, "body").send_keys("\ue00c")  # Escape: close menus


def errors_in_outputs(driver, by) -> list[str]:
    shown = driver.find_elements(
        by.CSS_SELECTOR,
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
    )
    texts = [e.text for e in shown if e.text.strip()]
    page = driver.find_element(by.CSS_SELECTOR, ".jp-Notebook").text
    texts += [w for w in ("Traceback", "could not draw this view") if w in page]
    return texts


def console_errors(driver) -> list[str]:
    """SEVERE browser-console entries, except resources from other hosts (there is no internet
    here: the Colab badge cannot load)."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE"
        and "127.0.0.1" in e["message"].split(" ")[0]
        or e["level"] == "SEVERE"
        and e.get("source") != "network"
    ]


def test_explorer_in_jupyterlab(request, tmp_path):
    """``SKD_BROWSER_PROFILE=quick`` runs the same steps on the repository's own ``runs/quick``
    (after ``make run``), to see the explorer and its timings at the tutorial's size."""
    profile = os.environ.get("SKD_BROWSER_PROFILE", "smoke")
    if profile == "smoke":
        root = request.getfixturevalue("smoke_run")
    else:  # a copy of the notebooks (JupyterLab autosaves) beside the repository's runs and data
        root = tmp_path / "project"
        (root / "skdlib").mkdir(parents=True)
        shutil.copytree(ROOT / "notebooks", root / "notebooks")
        for name in ("runs", "data"):
            (root / name).symlink_to(ROOT / name)
    missing = browser_available()
    assert missing is None, (
        f"the browser test needs {missing}: apt-get install chromium chromium-driver, "
        "pip install -e '.[test]' (or set SKD_SKIP_BROWSER=1 to skip it on purpose)"
    )
    from selenium.webdriver.common.by import By

    env = {"SKD_ROOT": str(root), "SKD_PROFILE": profile}
    timings: dict[str, float] = {}
    with (
        jupyterlab(root, env, tmp_path / "jupyterlab.log") as (base, token),
        chromium(tmp_path / "chromium") as driver,
    ):
        driver.get(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
        wait_for(
            lambda: driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell"), 60, "cells"
        )
        wait_for(lambda: kernel_status(driver, By) == "idle", 60, "the kernel to be idle")
        run_all_until_started(driver, By)
        done = f"figure saved: runs/{profile}/figures/06_explorer.png"
        try:
            wait_for(lambda: done in notebook_text(driver, By), 300, "all cells to run", poll=0.5)
        except AssertionError as exc:
            shot = tmp_path / "run_all_failed.png"
            driver.save_screenshot(str(shot))
            raise AssertionError(
                f"{exc}; kernel {kernel_status(driver, By)!r}; screenshot {shot}; the notebook "
                f"ends with: {notebook_text(driver, By)[-1500:]}"
            ) from None
        page = Page(driver)
        driver.execute_script("arguments[0].scrollIntoView()", page.root())
        start = page.header()
        assert start.startswith("layer4 · neuron ")  # where the code cell left it

        # the neuron, typed (one the code cell did not leave it at)
        first = "6" if start.startswith("layer4 · neuron 5\n") else "5"
        page.change(
            lambda: page.type_into("neuron a", first),
            rf"^layer4 · neuron {first}\n",
            timings,
            "neuron",
        )
        # the freeze of a real session: neuron and partner beyond layer1's 64 units
        page.change(
            lambda: page.type_into("neuron a", "300"), r"neuron 300\n", timings, "neuron 300"
        )
        page.change(
            lambda: page.type_into("partner b (a + b → c)", "400"),
            r"300 \+ 400 →",
            timings,
            "partner",
        )
        header = page.change(
            lambda: page.select("layer", "layer1"), r"^layer1 · neuron 63\n", timings, "layer"
        )
        assert page.control("neuron a").get_attribute("max") == "63"
        assert page.control("partner b (a + b → c)").get_attribute("value") == "63"
        assert "partner b equals neuron a (63)" in header
        # later changes keep working, within the new bounds
        page.change(
            lambda: page.type_into("neuron a", "10"),
            r"^layer1 · neuron 10\n.*",
            timings,
            "neuron after layer",
        )
        assert "10 + 63 →" in page.header()

        # eight neighbours: the panels wrap onto more lines at their own size, nothing overflows
        page.change(
            lambda: page.set_readout("neighbours", "8"),
            r"nearest: (neuron \d+ .*){8}",
            timings,
            "neighbours",
        )
        widths = {round(img.size["width"]) for img in page.root().find_elements(By.TAG_NAME, "img")}
        assert widths == {PANEL_PX}, widths
        overflow = driver.execute_script(
            "const e = arguments[0]; return e.scrollWidth - e.clientWidth;", page.root()
        )
        assert overflow <= 0, f"the view is {overflow} px wider than its output area"

        # search by concept, in the last layer
        page.change(
            lambda: page.select("layer", "layer4"), r"^layer4 · neuron 10\n", timings, "layer back"
        )
        options = [
            o.get_attribute("value")
            for o in page.root().find_elements(By.XPATH, "//datalist/option")
        ] or [
            o.get_attribute("value")
            for o in driver.find_elements(By.CSS_SELECTOR, "datalist option")
        ]
        current = page.control("concept").get_attribute("value")  # set by the code cell
        options = [o for o in options if o != current]
        assert options, "the concept box offers no other concept"
        for concept in options[:5]:  # the first with neurons in layer4
            name = re.escape(concept)
            page.change(
                lambda c=concept: page.type_into("concept", c),
                rf"concept '{name}'|concept search: .*'{name}'",
                timings,
                "concept",
                pictures=False,  # a concept without neurons here adds no pictures
            )
            if f"neurons that see '{concept}'" in page.root().text:
                break
        assert f"neurons that see '{concept}'" in page.root().text, "none of five has neurons"
        assert f"neurons near '{concept}'" in page.root().text

        driver.set_window_size(1400, 3200)  # tall enough for the whole explorer in one picture
        driver.execute_script("arguments[0].scrollIntoView()", page.root())
        shot = tmp_path / "06_explorer_browser.png"
        page.root().screenshot(str(shot))

        # the clear button ends the search
        driver.set_window_size(1400, 1100)
        button = next(
            b for b in driver.find_elements(By.CSS_SELECTOR, "button") if b.text == "clear"
        )
        page.change(button.click, r"additive: [^\n]*$", timings, "clear")
        assert "neurons that see" not in page.root().text

        assert errors_in_outputs(driver, By) == []
        assert console_errors(driver) == []

    figures = OutputFolder(profile, root=ROOT / "runs").path("figures")
    shutil.copy(shot, figures / shot.name)
    (figures / "06_explorer_browser_seconds.json").write_text(json.dumps(timings, indent=1))
    assert shot.read_bytes()[:4] == b"\x89PNG"
