"""The IoU tally of Network Dissection, skdlib beside NetDissect-Lite's procedure, side by side.

Both sides get the same activations, thresholds and labels, held in memory, so that only the
counting is timed (network forward and image decoding excluded from both):

* **Lite-style**: ``lite_tally.lite_style_tally`` — image by image, unit by unit, PIL bilinear
  upsampling of every map that crosses its threshold, ``numpy.bincount`` of the labels under it
  (NetDissect-Lite's ``tally_job``, single process);
* **skdlib**: :class:`skdlib.dissect.IoUTally` in the same ``overlap`` convention, fed the same
  batches as :func:`skdlib.dissect.dissect` feeds it.

Printed per label statistics and layer: images/s of both, the ratio, and the largest |ΔIoU|
over every unit and concept — in the same ``overlap`` convention (which must be 0: both count
the same thing), and between Lite's convention and ``dissect()``'s default ``annotated`` one
(the paper's definition; see ``docs/method.md`` §5.3 for why they differ). Two label statistics
side by side: the ``simple`` generated Broden (52 concepts, ~6 label combinations per image) and
``broden`` (:mod:`skdlib.data.multisource`: the real Broden's — four sources, 1,070 concepts,
dozens of objects with two part layers, ~165 combinations in an ADE-like image). Everything is
measured twice: on the machine as it is, and with a competing CPU load (a second process
multiplying matrices on one thread), since dissection often runs on shared machines.
Interleaved, median of ``--repeats``. Never part of the tests. Usage::

    python benchmarks/bench_tally.py [--images 256] [--statistics simple broden]
        [--network runs/quick/network.pt]

``--network`` takes the ``{"model": state_dict}`` file that the tutorial writes (the quick
profile's concept-trained ResNet18); without it the ResNet18 has random weights (seed 0).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
from pathlib import Path

import numpy as np
import torch
from lite_tally import lite_label_area, lite_style_tally
from studied_network import resnet18
from timing import competing_load, interleaved
from torch.utils.data import DataLoader

from skdlib.data import IMAGENET_MEAN, IMAGENET_STD, make_synthetic_broden, normalise_uint8
from skdlib.dissect import (
    BrodenDataset,
    IoUTally,
    collate_broden,
    exact_quantile,
    label_area,
    label_sets,
)
from skdlib.hooks import capture
from skdlib.runtime import cpu_threads


def features(model, layers, ds, batch_size):
    """Per batch: the layers' activations (float32), pixel labels and whole-image labels."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    batches = []
    loader = DataLoader(ds, batch_size=batch_size, collate_fn=collate_broden)
    for batch in loader:
        with torch.no_grad(), capture(model, layers, detach=True) as acts:
            model(normalise_uint8(batch["image"], mean, std))
        batches.append(
            {
                "acts": {name: acts[name].contiguous() for name in layers},
                "pixel": batch["pixel_labels"],
                "whole": batch["image_labels"],
            }
        )
    return batches


def iou(inter, area, label_area, lut, columns):
    """IoU of every unit with the concepts ``columns`` (label numbers), float64."""
    inter = np.asarray(inter, np.float64)[:, columns]
    union = np.asarray(area, np.float64)[:, lut[columns]] + label_area[columns] - inter
    return inter / (union + 1e-10)


def run_skdlib(batches, layer, thr, lut, n_cat, mode="overlap"):
    """What ``dissect``'s tally pass does per batch, for one layer."""
    tally = IoUTally(thr, lut, n_cat, mode)
    area = torch.zeros(len(lut), dtype=torch.int64)
    with cpu_threads(1):
        for b in batches:
            sets = label_sets(b["pixel"])
            area += label_area(b["pixel"], b["whole"], len(lut), sets)
            tally.update(b["acts"][layer], b["pixel"], b["whole"], sets=sets)
    return tally.intersection.numpy(), tally.activation_area.numpy()


def run_lite(batches, layer, thr, lut, n_cat):
    inter = area = None
    for b in batches:
        i, a, _ = lite_style_tally(
            b["acts"][layer].numpy(), thr.numpy(), b["pixel"].numpy(), b["whole"].numpy(),
            lut.numpy(), n_cat,
        )  # fmt: skip
        inter, area = (i, a) if inter is None else (inter + i, area + a)
    return inter, area


def _store(out, name, fn, args):
    out[name] = fn(*args)


def measure(batches, layers, thresholds, lut, n_cat, n_images, repeats, label_area, columns, names):
    rows = {}
    for layer in layers:
        out: dict[str, tuple] = {}
        args = (batches, layer, thresholds[layer], lut, n_cat)
        fns = {
            "lite": functools.partial(_store, out, "lite", run_lite, args),
            "skdlib": functools.partial(_store, out, "skd", run_skdlib, args),
        }
        sec = interleaved(fns, repeats)
        lut_np = lut.numpy()
        iou_lite = iou(*out["lite"], label_area, lut_np, columns)
        iou_skd = iou(*out["skd"], label_area, lut_np, columns)
        annotated = iou(*run_skdlib(*args, mode="annotated"), label_area, lut_np, columns)
        gap = np.abs(iou_lite - annotated)
        unit, concept = np.unravel_index(gap.argmax(), gap.shape)
        best_lite, best_ann = iou_lite.argmax(1), annotated.argmax(1)
        rows[layer] = {
            "lite_images_per_s": n_images / sec["lite"],
            "skdlib_images_per_s": n_images / sec["skdlib"],
            "speedup": sec["lite"] / sec["skdlib"],
            "max_abs_delta_iou": float(np.abs(iou_lite - iou_skd).max()),
            "max_abs_delta_iou_vs_annotated": float(gap.max()),
            "largest_gap": {"unit": int(unit), "concept": names[concept],
                            "lite_overlap": float(iou_lite[unit, concept]),
                            "annotated": float(annotated[unit, concept])},
            "best_concept_differs_units": int((best_lite != best_ann).sum()),
            "units_over_0.04": int((iou_skd.max(1) > 0.04).sum()),
            "units_over_0.04_annotated": int((annotated.max(1) > 0.04).sum()),
        }  # fmt: skip
    return rows


def setting(statistics: str, args) -> tuple:
    """Activations, thresholds and labels of one label statistics, held in memory."""
    name = f"data/synthetic_broden_224_n{args.images}" + ("" if statistics == "simple" else "_ms")
    root = make_synthetic_broden(name, args.images, statistics=statistics)
    ds = BrodenDataset(root)
    model = resnet18(args.network)
    batches = features(model, args.layers, ds, args.batch_size)
    thresholds = {
        layer: exact_quantile(
            torch.cat([b["acts"][layer].transpose(0, 1).flatten(1) for b in batches], 1),
            args.quantile,
        ).float()
        for layer in args.layers
    }
    lut = ds.category_lut()
    label_area = sum(
        lite_label_area(b["pixel"].numpy(), b["whole"].numpy(), len(lut)) for b in batches
    )
    columns = np.array([c.number for c in ds.concepts])
    sets = [label_sets(b["pixel"]) for b in batches]
    combos = sum(len(x) for x in sets) / len(ds)
    names = [f"{c.name} ({c.category})" for c in ds.concepts]
    common = (batches, args.layers, thresholds, lut, len(ds.categories), len(ds), args.repeats,
              label_area, columns, names)  # fmt: skip
    return common, {"concepts": len(ds.concepts), "combinations_per_image": combos}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--layers", nargs="+", default=["layer3", "layer4"])
    parser.add_argument(
        "--statistics", nargs="+", default=["simple", "broden"], choices=["simple", "broden"],
        help="label statistics of the generated Broden",
    )  # fmt: skip
    parser.add_argument("--network", help="state-dict file of a ResNet18 (default: random)")
    parser.add_argument("--quantile", type=float, default=0.995)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--no-load", action="store_true", help="skip the competing-load run")
    parser.add_argument(
        "--load-processes", type=int, default=1, help="one-thread matmul processes beside it"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    report = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "network": args.network or "random weights",
        "images": args.images,
        "quantile": args.quantile,
        "load_average_1min_before": os.getloadavg()[0],
        "load_processes": 0 if args.no_load else args.load_processes,
        "statistics": {},
    }
    for statistics in args.statistics:
        common, labels = setting(statistics, args)
        entry = {**labels, "quiet": measure(*common)}
        if not args.no_load:
            with competing_load(args.load_processes):
                entry["competing_load"] = measure(*common)
        report["statistics"][statistics] = entry
    print(
        f"machine: {report['machine']}, torch {torch.__version__}, {report['threads']} threads, "
        f"load average before {report['load_average_1min_before']:.1f}; ResNet18 "
        f"({report['network']}) on {args.images} generated Broden images at 224, "
        f"q = {args.quantile}, tally only (same activations and thresholds), median of "
        f"{args.repeats}"
    )
    print("| labels | condition | layer | Lite-style images/s | skdlib images/s | skdlib / Lite |"
          " max |dIoU| (same rule) | max |dIoU| Lite vs annotated |"
          " units over 0.04: Lite's rule / annotated |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for statistics, entry in report["statistics"].items():
        label = (f"{statistics} ({entry['concepts']} concepts, "
                 f"{entry['combinations_per_image']:.0f} combinations/image)")  # fmt: skip
        for condition in ("quiet", "competing_load"):
            if condition not in entry:
                continue
            title = "as is" if condition == "quiet" else f"{args.load_processes} load process(es)"
            for layer, r in entry[condition].items():
                print(
                    f"| {label} | {title} | {layer} | {r['lite_images_per_s']:.1f} | "
                    f"{r['skdlib_images_per_s']:.1f} | **{r['speedup']:.2f}** | "
                    f"{r['max_abs_delta_iou']:.1e} | {r['max_abs_delta_iou_vs_annotated']:.3f} | "
                    f"{r['units_over_0.04']} / {r['units_over_0.04_annotated']} |"
                )
                label = title = ""
    for statistics, entry in report["statistics"].items():
        for layer, r in entry["quiet"].items():
            g = r["largest_gap"]
            print(
                f"{statistics} {layer}: largest |dIoU| Lite's rule vs annotated at unit "
                f"{g['unit']}, {g['concept']}: {g['lite_overlap']:.3f} vs {g['annotated']:.3f}; "
                f"best concept differs for {r['best_concept_differs_units']} units"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
