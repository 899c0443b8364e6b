"""The files skdlib writes, by name, and the format version stamped inside each.

Every file name a job writes into its folder is spelled here once; code and notebooks say
``filenames.MODEL`` rather than ``"model.pt"``, so a name is changed in one place and a reader
finds every writer and reader of a file by searching for its constant. A saved ``.pt`` carries
a ``"format"`` field (``"skdlib.<kind>/<version>"``) that its reader checks
(:func:`skdlib.checkpoint.check_format`): a file of another version is named as such instead of
being misread.

* a distillation run (:class:`skdlib.distill.DistillTrainer`): ``checkpoint.pt``,
  ``metrics.json`` / ``metrics.csv``, ``best.pt``, ``model.pt``;
* an embedding (``embed``, ``embed-teacher``, :class:`skdlib.embedding.EmbeddingTrainer`):
  ``embedding.pt``, ``embedding.ckpt``, ``summary.json``;
* a dissection (:func:`skdlib.dissect.dissect`): ``dissection.pt``, ``tally_<layer>.csv``,
  ``dissection.ckpt``; its report (:func:`skdlib.viz.write_report`) in ``report/``:
  ``index.html``, ``<layer>.html``, ``<layer>-categories.png``, ``<layer>-unit<NNNN>.jpg``;
* a Table-1 or ImageNet job: ``results.json`` / ``results.csv``, ``table1.md``;
* the tutorial's ``runs/<profile>/``: ``network.pt``, ``embedding_snapshots.pt``,
  ``metrics.json``, ``summary.md``.

Example:
    >>> from pathlib import Path
    >>> Path("runs/s") / MODEL
    PosixPath('runs/s/model.pt')
    >>> TALLY_CSV.format(layer="layer4")
    'tally_layer4.csv'
"""

from __future__ import annotations

__all__ = [
    "BEST_MODEL",
    "CHECKPOINT",
    "DISSECTION",
    "DISSECTION_CHECKPOINT",
    "REPORT_FOLDER",
    "REPORT_INDEX",
    "REPORT_PAGE",
    "REPORT_CHART",
    "REPORT_STRIP",
    "EMBEDDING",
    "EMBEDDING_CHECKPOINT",
    "EMBEDDING_SNAPSHOTS",
    "EMBED_SUMMARY",
    "METRICS",
    "METRICS_CSV",
    "MODEL",
    "NETWORK",
    "RESULTS",
    "RESULTS_CSV",
    "SUMMARY_MD",
    "TABLE1_MD",
    "TALLY_CSV",
    "DISSECTION_CHECKPOINT_FORMAT",
    "DISSECTION_FORMAT",
    "DISTILL_CHECKPOINT_FORMAT",
    "EMBEDDING_CHECKPOINT_FORMAT",
    "EMBEDDING_FORMAT",
    "MODEL_FORMAT",
    "SNAPSHOTS_FORMAT",
    "SYNTHETIC_BRODEN_FORMAT",
]

# -- a distillation run ------------------------------------------------------------------------
#: Everything needed to resume (weights, optimiser, schedule, history), after every epoch.
CHECKPOINT = "checkpoint.pt"
#: Strict JSON: the run's signature, last/best top-1, per-epoch history.
METRICS = "metrics.json"
#: The per-epoch history as CSV.
METRICS_CSV = "metrics.csv"
#: The weights of the epoch with the best test top-1 so far.
BEST_MODEL = "best.pt"
#: The final weights, written once the run is complete (what students and tables read).
MODEL = "model.pt"

# -- an embedding ------------------------------------------------------------------------------
#: The semantic vectors with their metadata (:class:`skdlib.embedding.NeuronEmbedding`).
EMBEDDING = "embedding.pt"
#: A resumable embedding run's checkpoint (removed when the embedding is saved).
EMBEDDING_CHECKPOINT = "embedding.ckpt"
#: ``embed``'s loss ends and a few neighbour / additive queries.
EMBED_SUMMARY = "summary.json"
#: Copies of the vectors as they trained (:class:`skdlib.embedding.VectorSnapshots`).
EMBEDDING_SNAPSHOTS = "embedding_snapshots.pt"

# -- a dissection ------------------------------------------------------------------------------
#: The whole result (:class:`skdlib.dissect.DissectionResult`).
DISSECTION = "dissection.pt"
#: One per layer: units x concepts IoU with the best concept per unit; ``.format(layer=...)``.
TALLY_CSV = "tally_{layer}.csv"
#: A dissection's resumable state while it runs (removed when the result is saved).
DISSECTION_CHECKPOINT = "dissection.ckpt"
#: The folder of a dissection's HTML report, beside ``dissection.pt`` (a folder: no suffix).
REPORT_FOLDER = "report"
#: The report's first page: every layer's summary, linking to the layers' pages.
REPORT_INDEX = "index.html"
#: One page per layer (the layer's name made file-safe); ``.format(layer=...)``.
REPORT_PAGE = "{layer}.html"
#: A layer's bar chart of interpretable units per concept; ``.format(layer=...)``.
REPORT_CHART = "{layer}-categories.png"
#: A unit's strip of top images with its mask; ``.format(layer=..., unit=...)``.
REPORT_STRIP = "{layer}-unit{unit:04d}.jpg"

# -- jobs of several runs ----------------------------------------------------------------------
#: One row per run of a Table-1 or ImageNet job.
RESULTS = "results.json"
#: The same rows as CSV.
RESULTS_CSV = "results.csv"
#: The rendered Table 1.
TABLE1_MD = "table1.md"

# -- the tutorial's output folder --------------------------------------------------------------
#: The concept-trained network the offline profiles study.
NETWORK = "network.pt"
#: The key numbers every notebook recorded, with the orderings they were expected to show.
SUMMARY_MD = "summary.md"

# -- format versions stamped inside the files --------------------------------------------------
DISTILL_CHECKPOINT_FORMAT = "skdlib.distill-checkpoint/1"
MODEL_FORMAT = "skdlib.cifar-model/1"
EMBEDDING_FORMAT = "skdlib.neuron-embedding/1"
EMBEDDING_CHECKPOINT_FORMAT = "skdlib.embedding-checkpoint/1"
SNAPSHOTS_FORMAT = "skdlib.vector-snapshots/1"
DISSECTION_FORMAT = "skdlib.dissection/2"
DISSECTION_CHECKPOINT_FORMAT = "skdlib.dissect-checkpoint/2"
#: In a generated Broden's ``skdlib_synthetic.json``: what made it.
SYNTHETIC_BRODEN_FORMAT = "skdlib.synthetic-broden/1"
