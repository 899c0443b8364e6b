"""skdlib.commands.common: one flag per embedding setting, ``--setting`` and its overrides."""

import argparse

import pytest

from skdlib.commands.common import (
    add_embedding_arguments,
    add_progress_argument,
    describe,
    embedding_config,
    progress,
)
from skdlib.embedding.config import SETTINGS, EmbeddingConfig


def _parse(*argv, setting="offline"):
    parser = argparse.ArgumentParser()
    add_embedding_arguments(parser, setting)
    add_progress_argument(parser)
    return parser.parse_args(list(argv))


def test_no_flags_is_the_named_setting():
    assert embedding_config(_parse()) == SETTINGS["offline"]
    assert embedding_config(_parse(setting="paper")) == SETTINGS["paper"] == EmbeddingConfig()


def test_every_flag_overrides_its_field_and_lr_follows_the_optimizer():
    args = _parse("--dim", "8", "--tau", "0.5", "--epochs", "3", "--mode", "dataset_mean",
                  "--steps", "40", "--seed", "2", "--setting", "paper")  # fmt: skip
    cfg = embedding_config(args)
    assert (cfg.dim, cfg.tau, cfg.epochs, cfg.mode, cfg.steps, cfg.seed) == (
        8, 0.5, 3, "dataset_mean", 40, 2,
    )  # fmt: skip
    assert (cfg.optimizer, cfg.lr) == ("sgd", 0.1)
    assert embedding_config(_parse("--optimizer", "sgd")).lr == 0.1  # not adam's 0.01
    assert embedding_config(_parse("--optimizer", "sgd", "--lr", "0.3")).lr == 0.3


def test_bad_values_are_argument_errors():
    with pytest.raises(SystemExit):
        _parse("--mode", "full")
    with pytest.raises(SystemExit):
        _parse("--optimizer", "rmsprop")


def test_progress_and_describe():
    assert progress(_parse()) is True and progress(_parse("--no-progress")) == "epochs"
    assert describe("``x``: one.\n\nDoes ``y``.\n") == "Does y."
