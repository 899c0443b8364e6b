"""The tutorial's plumbing: profiles, the output folder, the studied network, the set-up steps,
and the notebook runner.

The numbered notebooks call these as ``tutorial.<step>(profile, ...)`` so that each cell reads
like a step of the tutorial:

* :mod:`~skdlib.tutorial.profiles` — ``smoke`` / ``quick`` / ``paper``: how big each step runs;
* :mod:`~skdlib.tutorial.outputs` — :class:`OutputFolder`, ``runs/<profile>/``;
* :mod:`~skdlib.tutorial.claims` — :class:`Claim`: the ordering a number is expected to show
  against its baseline, and whether it did;
* :mod:`~skdlib.tutorial.network` — :func:`studied_network`: ImageNet ResNet18, or one trained
  here on synthetic concepts;
* :mod:`~skdlib.tutorial.steps` — the Broden, the display images, the distillation job, the
  embedding fit of a profile;
* :mod:`~skdlib.tutorial.notebooks` — :func:`execute_notebooks` (papermill) and its summary.
"""

from .claims import Claim
from .network import load_torchvision_model, random_network, studied_network
from .notebooks import NotebookFailed, execute_notebooks, notebook_paths, write_summary
from .outputs import MissingInputError, OutputFolder, project_root, shown_path
from .profiles import PROFILES, Profile, default_profile, get_profile
from .steps import (
    broden,
    check_paper_inputs,
    data_dir,
    display_set,
    distillation_batches,
    distillation_config,
    embedding_loader,
    train_embedding,
    vector_snapshots,
)

__all__ = [
    "PROFILES",
    "Claim",
    "MissingInputError",
    "NotebookFailed",
    "OutputFolder",
    "Profile",
    "broden",
    "check_paper_inputs",
    "data_dir",
    "default_profile",
    "display_set",
    "distillation_batches",
    "distillation_config",
    "embedding_loader",
    "execute_notebooks",
    "get_profile",
    "load_torchvision_model",
    "notebook_paths",
    "project_root",
    "random_network",
    "shown_path",
    "studied_network",
    "train_embedding",
    "vector_snapshots",
    "write_summary",
]
