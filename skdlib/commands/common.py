"""What several commands share: the progress flag and the embedding settings' flags.

Everything here, like every module of :mod:`skdlib.commands`, imports no torch at module level:
``python -m skdlib <command> --help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses

from ..embedding.config import MODES, SETTINGS, EmbeddingConfig, embedding_setting
from ..progress import EPOCH_LINES

__all__ = [
    "describe",
    "add_embedding_arguments",
    "add_progress_argument",
    "embedding_config",
    "progress",
    "Formatter",
]

#: Help text of every :class:`~skdlib.embedding.EmbeddingConfig` field a command takes, by field.
_EMBEDDING_HELP = {
    "dim": "K, the length of each semantic vector (paper: 16)",
    "tau": "softmax temperature of both similarity distributions (paper: 1)",
    "epochs": "passes over the data",
    "optimizer": "sgd (paper) or adam (converges in a few hundred steps)",
    "lr": "learning rate (default: 0.1 with sgd, 0.01 with adam)",
    "mode": "minibatch (paper: a network forward per step, resumable) or dataset_mean (the "
    "same objective fitted exactly from one pass over the data)",
    "steps": "optimiser steps of --mode dataset_mean",
    "seed": "seeds the vectors' initialisation and the data order",
}
_CHOICES = {"optimizer": ("sgd", "adam"), "mode": MODES}


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help that shows each flag's default and keeps the epilog's example lines as written."""


def describe(doc: str) -> str:
    r"""A command module's docstring, after its first line, as terminal text for ``--help``
    (reStructuredText's double backquotes dropped).

    Example:
        >>> describe("``x``: one line.\n\nRuns ``x`` twice.")
        'Runs x twice.'
    """
    return doc.split("\n\n", 1)[1].replace("``", "").strip()


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``: one printed line per epoch instead of progress bars."""
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="print one line per epoch (or step) instead of progress bars",
    )


def progress(args: argparse.Namespace) -> bool | str:
    """Bars, or with ``--no-progress`` one printed line per epoch (batch logs)."""
    return EPOCH_LINES if args.no_progress else True


def add_embedding_arguments(parser: argparse.ArgumentParser, setting: str) -> None:
    """One flag per :class:`~skdlib.embedding.EmbeddingConfig` field (``--dim``, ``--epochs``,
    ``--mode``, ...) and ``--setting``, the named settings they override.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_embedding_arguments(p, "offline")
        >>> embedding_config(p.parse_args(["--epochs", "2"])).epochs
        2
    """
    names = ", ".join(
        f"{name}: {cfg.optimizer} lr {cfg.lr:g}, {cfg.epochs} epochs, {cfg.mode}"
        for name, cfg in SETTINGS.items()
    )
    parser.add_argument(
        "--setting",
        default=setting,
        choices=list(SETTINGS),
        help=f"named embedding settings ({names}); the flags below override it",
    )
    types = {f.name: f.type for f in dataclasses.fields(EmbeddingConfig)}
    for name, text in _EMBEDDING_HELP.items():
        kind = {"int": int, "float": float, "str": str}[str(types[name])]
        parser.add_argument(
            f"--{name}",
            type=kind,
            default=None,
            choices=_CHOICES.get(name),
            help=f"{text} (default: the setting's)",
        )


def embedding_config(args: argparse.Namespace) -> EmbeddingConfig:
    """The :class:`~skdlib.embedding.EmbeddingConfig` of :func:`add_embedding_arguments`'s flags:
    ``--setting`` with every flag given; ``--lr`` follows ``--optimizer`` when only that is
    given."""
    overrides = {name: getattr(args, name) for name in _EMBEDDING_HELP}
    if overrides["lr"] is None and overrides["optimizer"] is not None:
        overrides["lr"] = 0.1 if overrides["optimizer"] == "sgd" else 0.01
    return embedding_setting(args.setting, **overrides)
