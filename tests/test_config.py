"""skdlib.config: every job config checks keys and types the same way, and round-trips JSON."""

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from skdlib.config import ConfigError, JsonConfig, check_type


@dataclass
class Job(JsonConfig):
    out: str
    epochs: int = 10
    lr: float = 0.1
    beta: float | None = None
    milestones: tuple[float, ...] = (0.5, 0.75)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    flag: bool = False


@dataclass(frozen=True)
class Frozen(JsonConfig):
    name: str = "x"
    sizes: tuple[int, ...] = (1,)


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [
        (3, float, 3.0),
        (3, int, 3),
        (None, float | None, None),
        (0.5, float | None, 0.5),
        ([1, 2], tuple[float, ...], (1.0, 2.0)),
        ([["a", "b"]], list[tuple[str, str]], [("a", "b")]),
        ({"k": 1}, dict[str, Any], {"k": 1}),
        ("paper", list[tuple[str, str]] | str, "paper"),
    ],
)
def test_accepted_values_are_converted_to_the_hint(value, hint, expected):
    out = check_type(value, hint, "k")
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [
        ("3", int, "int"),
        (True, int, "int"),
        (1, bool, "bool"),
        ("0.05", float, "float"),
        ("skd", list[str], r"list\[str\]"),
        ([["a"]], list[tuple[str, str]], r"list\[tuple\[str, str\]\]"),
        ([1, "x"], tuple[float, ...], r"tuple\[float, \.\.\.\]"),
        ("x", float | None, r"float \| None"),
        ([1], dict[str, Any], r"dict\[str, Any\]"),
    ],
)
def test_rejected_values_name_key_expected_type_and_value(value, hint, expected):
    message = rf"key 'k': expected {expected}, got {re.escape(repr(value))} \("
    with pytest.raises(ConfigError, match=message):
        check_type(value, hint, "k")


def test_from_dict_names_unknown_and_missing_keys_and_where():
    with pytest.raises(ConfigError, match=r"run.json: unknown key\(s\) \['epoch'\].*'epochs'"):
        Job.from_dict({"out": "x", "epoch": 3}, where="run.json")
    with pytest.raises(ConfigError, match=r"Job needs the key\(s\) \['out'\]"):
        Job.from_dict({})
    with pytest.raises(ConfigError, match=r"run.json: key 'lr': expected float"):
        Job.from_dict({"out": "x", "lr": "fast"}, where="run.json")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        Job.from_dict(["out"])


def test_construction_checks_too_and_frozen_dataclasses_work():
    with pytest.raises(ConfigError, match="key 'epochs'"):
        Job(out="x", epochs=2.5)
    assert Frozen(sizes=[1, 2]).sizes == (1, 2)
    with pytest.raises(ConfigError, match="key 'name'"):
        Frozen.from_dict({"name": 3})


def test_save_and_load_round_trip_and_bad_files_are_named(tmp_path):
    job = Job(out="runs/x", beta=0.5, pairs=[("a", "b")], extra={"n": [1, 2]}, flag=True)
    path = job.save(tmp_path / "job.json")
    assert Job.load(path) == job
    assert Job.from_dict(job.to_dict()) == job
    assert job.to_dict()["pairs"] == [["a", "b"]] and job.to_dict()["milestones"] == [0.5, 0.75]
    broken = tmp_path / "broken.json"
    broken.write_text('{"out": "x",\n "lr": }')
    with pytest.raises(ConfigError, match=r"broken.json line 2 column 8: not valid JSON"):
        Job.load(broken)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        Job.load(tmp_path / "missing.json")
