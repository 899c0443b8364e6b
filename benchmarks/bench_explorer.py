"""The neuron explorer's response to a change, beside drawing the same view with matplotlib.

On the tutorial's quick run (``make run`` first: it reads ``runs/quick``), each interaction a
user makes — a new neuron, a layer switch, more neighbours, another partner b, a concept search —
is timed as the kernel spends it: from setting the control to the new view being ready to send.

* **skdlib**: :class:`skdlib.viz.NeuronExplorer` — HTML of cached JPEG panels;
* **matplotlib**: the same neuron view (its k neighbours on its top image, the additive query)
  drawn as the explorer drew it before, ``plot_neighbours`` + ``plot_additive`` in one
  constrained-layout figure, encoded as PNG as the inline backend sends it.

Each interaction is measured on neurons not seen before (first view, nothing cached) and again
(cached), quiet and with a competing CPU load. Median and maximum over ``--neurons`` neurons.
Browser-side seconds (the change made in the page until the new view shows) come from the
browser test: ``runs/<profile>/figures/06_explorer_browser_seconds.json``. Usage::

    python benchmarks/bench_explorer.py [--profile quick] [--neurons 12]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from timing import competing_load  # noqa: E402

from skdlib import tutorial  # noqa: E402
from skdlib.dissect import DissectionResult  # noqa: E402
from skdlib.embedding import NeuronEmbedding  # noqa: E402
from skdlib.viz import NeuronExplorer, collect_activations, plot_additive, plot_neighbours  # noqa: E402


def matplotlib_view(explorer: NeuronExplorer) -> int:
    """The explorer's neuron view drawn the matplotlib way; returns the PNG's size in bytes."""
    s = explorer.state
    layer, unit, k = s["layer"], s["unit"], len(s["neighbours"])
    names = {u: f"{c} ({iou:.2f})" for u, (c, iou) in enumerate(explorer.concepts.get(layer, []))}
    fig = Figure(figsize=(2.0 * (1 + k), 5.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    maps = explorer.maps[layer]
    plot_neighbours(
        explorer.emb, layer, [unit], explorer.images, maps, k=k, concept_names=names, fig=top
    )
    b = s["additive"]["b"] if s["additive"] else (unit + 1) % maps.shape[1]
    plot_additive(
        explorer.emb,
        layer,
        unit,
        b,
        explorer.images,
        maps,
        n_images=1,
        concept_names=names,
        fig=bottom,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.tell()


def interactions(explorer: NeuronExplorer, neurons: list[int], concepts: list[str]):
    """``(name, action)`` pairs: each action sets one control, as a user would."""
    steps = []
    for i, unit in enumerate(neurons):
        concept = concepts[i % len(concepts)]
        steps.append(("neuron", lambda u=unit: setattr(explorer.unit, "value", u)))
        steps.append(
            ("partner b", lambda u=unit: setattr(explorer.partner, "value", (u * 7 + 3) % 512))
        )
        steps.append(("neighbours 8", lambda: setattr(explorer.k, "value", 8)))
        steps.append(("neighbours 3", lambda: setattr(explorer.k, "value", 3)))
        steps.append(("concept", lambda c=concept: setattr(explorer.concept, "value", c)))
        layer = "layer1" if i % 2 == 0 else "layer4"
        steps.append(("layer", lambda v=layer: setattr(explorer.layer, "value", v)))
    return steps


def measure(explorer: NeuronExplorer, neurons: list[int], concepts: list[str]) -> dict:
    times: dict[str, dict[str, list[float]]] = {}
    for label, panels in (("first view", True), ("again", False)):
        if panels:
            explorer.panels.__init__(explorer.images, explorer.maps)  # empty caches
        for name, action in interactions(explorer, neurons, concepts):
            start = time.perf_counter()
            action()
            ours = time.perf_counter() - start
            assert explorer.state["error"] is None, explorer.state["error"]
            start = time.perf_counter()
            matplotlib_view(explorer)
            theirs = time.perf_counter() - start
            entry = times.setdefault(f"{name} ({label})", {"skdlib": [], "matplotlib": []})
            entry["skdlib"].append(ours)
            entry["matplotlib"].append(theirs)
    return {
        name: {
            side: {"median_s": statistics.median(v), "max_s": max(v)} for side, v in sides.items()
        }
        for name, sides in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--neurons", type=int, default=12)
    parser.add_argument("--no-load", action="store_true")
    args = parser.parse_args()

    P = tutorial.get_profile(args.profile)
    out = tutorial.OutputFolder(args.profile)
    emb = NeuronEmbedding.load(out.require("embedding.pt", made_by="01_embed_neurons"))
    dissection = DissectionResult.load(out.require("dissection", made_by="04_dissection_and_kl"))
    model = tutorial.studied_network(P, out)
    images, display = tutorial.display_set(tutorial.broden(P), P.display_images)
    maps = collect_activations(model, emb.layers, images, device=P.device)
    start = time.perf_counter()
    explorer = NeuronExplorer(emb, display, maps, concepts=dissection, k=3)
    opening = time.perf_counter() - start
    neurons = torch.randperm(64, generator=torch.Generator().manual_seed(0))[
        : args.neurons
    ].tolist()
    concepts = list(explorer.concept.options[: args.neurons])
    report = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "profile": args.profile,
        "images": int(len(display)),
        "opening_s": opening,
        "quiet": measure(explorer, neurons, concepts),
    }
    if not args.no_load:
        with competing_load(1):
            report["competing_load"] = measure(explorer, neurons, concepts)
    print(
        f"{report['machine']}; profile {args.profile}: {report['images']} display images at "
        f"{display.shape[1]} px; explorer opened in {opening:.2f} s"
    )
    for condition in ("quiet", "competing_load"):
        if condition not in report:
            continue
        print(f"\n{condition}: seconds per change, median (max) over {len(neurons)} neurons")
        print(f"{'change':<26}{'skdlib':>16}{'matplotlib':>18}{'ratio':>8}")
        for name, sides in report[condition].items():
            ours, theirs = sides["skdlib"], sides["matplotlib"]
            print(
                f"{name:<26}{ours['median_s']:>8.3f} ({ours['max_s']:.3f})"
                f"{theirs['median_s']:>10.3f} ({theirs['max_s']:.3f})"
                f"{theirs['median_s'] / ours['median_s']:>7.1f}x"
            )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
