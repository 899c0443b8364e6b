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

import lazy_loader as _lazy

# every public name, imported from its module on first use (scientific-python SPEC 1)
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "claims": ["Claim"],
        "network": ["random_network", "studied_network"],
        "notebooks": ["NotebookFailed", "execute_notebooks", "notebook_paths", "write_summary"],
        "outputs": ["MissingInputError", "OutputFolder", "project_root", "shown_path"],
        "profiles": ["PROFILES", "Profile", "default_profile", "get_profile"],
        "steps": [
            "broden",
            "check_paper_inputs",
            "data_dir",
            "display_set",
            "distillation_batches",
            "distillation_config",
            "embedding_loader",
            "train_embedding",
            "vector_snapshots",
        ],
    },
)
