"""Job configurations: dataclasses that load from and save to JSON, checked key by key.

Every job in skdlib — an embedding, a training run, a Table-1 job, a tutorial profile — is
configured by one dataclass deriving from :class:`JsonConfig`, and they all behave alike:

* constructing one checks every field against its type hint: a wrong type is a
  :class:`ConfigError` naming the key, the type expected and the value found (an int is accepted
  for a float, a list for a tuple, a JSON object for a nested config);
* ``Config.from_dict(values)`` also rejects unknown keys (listing the valid ones) and names a
  missing required key; ``Config.load(path)`` does the same for a JSON file and puts the file
  name in front of every message;
* ``config.to_dict()`` gives plain JSON values; ``config.save(path)`` writes them atomically, and
  ``Config.load(config.save(path)) == config``.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Job(JsonConfig):
    ...     epochs: int = 10
    ...     lr: float = 0.1
    ...     milestones: tuple[float, ...] = (0.5,)
    >>> Job.from_dict({"epochs": 3, "lr": 1, "milestones": [0.5, 0.75]})
    Job(epochs=3, lr=1.0, milestones=(0.5, 0.75))
    >>> Job.from_dict({"epochs": "3"})
    Traceback (most recent call last):
    ...
    skdlib.config.ConfigError: key 'epochs': expected int, got '3' (str)
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write_text

__all__ = ["ConfigError", "JsonConfig", "check_type"]


class ConfigError(ValueError):
    """A configuration value of the wrong type, an unknown key, or a missing required key."""


def _type_name(hint: Any) -> str:
    """``int``, ``list[str]``, ``float | None``, ... as a reader would write the hint."""
    if hint is type(None):
        return "None"
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]" if args else str(origin)
    return str(hint).replace("typing.", "")


class _Mismatch(Exception):
    """Raised inside :func:`check_type`; turned into one :class:`ConfigError` at the top."""


def _check(value: Any, hint: Any) -> Any:
    if hint is Any or hint is typing.Any:
        return value
    if hint is type(None):
        if value is None:
            return None
        raise _Mismatch
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _check(value, option)
            except _Mismatch:
                continue
        raise _Mismatch
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise _Mismatch
            return tuple(_check(v, a) for v, a in zip(value, args, strict=True))
        item = args[0] if args else Any
        items = [_check(v, item) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise _Mismatch
        key_t, val_t = args if args else (Any, Any)
        return {_check(k, key_t): _check(v, val_t) for k, v in value.items()}
    if isinstance(hint, type):
        if isinstance(value, hint):
            return value
        if issubclass(hint, JsonConfig) and isinstance(value, Mapping):
            return hint.from_dict(value)  # a nested config; its own errors name its keys
        raise _Mismatch
    return value  # a hint this checker does not interpret is left to the dataclass


def check_type(value: Any, hint: Any, key: str) -> Any:
    """``value`` checked against the type ``hint`` (an int becomes a float for a float, a list a
    tuple for a tuple); a :class:`ConfigError` naming ``key`` and both types otherwise.

    Example:
        >>> check_type([1, 2], tuple[float, ...], "milestones")
        (1.0, 2.0)
        >>> check_type("skd", list[str], "methods")
        Traceback (most recent call last):
        ...
        skdlib.config.ConfigError: key 'methods': expected list[str], got 'skd' (str)
    """
    try:
        return _check(value, hint)
    except ConfigError as exc:  # raised inside a nested config: say where it is nested
        raise ConfigError(f"key {key!r}: {exc}") from None
    except _Mismatch:
        raise ConfigError(
            f"key {key!r}: expected {_type_name(hint)}, got {value!r} ({type(value).__name__})"
        ) from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, JsonConfig):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class JsonConfig:
    """Base of skdlib's configuration dataclasses (see the module docstring).

    A subclass is a ``@dataclass``; if it defines ``__post_init__`` (for range checks), that
    method calls ``super().__post_init__()`` first, which checks and converts every field.
    """

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = check_type(getattr(self, f.name), hints[f.name], f.name)
            object.__setattr__(self, f.name, value)  # works for frozen dataclasses too

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], where: str = "") -> JsonConfig:
        """Build from a dict (e.g. parsed JSON); ``where`` prefixes every error message.

        Raises:
            ConfigError: an unknown key (the valid ones are listed), a missing required key,
                or a value of the wrong type.
        """
        prefix = f"{where}: " if where else ""
        if not isinstance(values, Mapping):
            raise ConfigError(f"{prefix}expected a JSON object of settings, got {values!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(
                f"{prefix}unknown key(s) {unknown} for {cls.__name__}; valid keys: {sorted(fields)}"
            )
        missing = [
            name
            for name, f in fields.items()
            if name not in values
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise ConfigError(f"{prefix}{cls.__name__} needs the key(s) {missing}")
        try:
            return cls(**dict(values))
        except ConfigError as exc:
            raise ConfigError(f"{prefix}{exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> JsonConfig:
        """Read a JSON file written by :meth:`save` (or by hand); errors name the file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{cls.__name__} file not found: {path}")
        try:
            values = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path} line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})"
            ) from None
        return cls.from_dict(values, where=str(path))

    @classmethod
    def coerce(cls, value: JsonConfig | Mapping[str, Any] | str | os.PathLike) -> JsonConfig:
        """``value`` as a config: an instance as it is, a dict via :meth:`from_dict`, a path via
        :meth:`load` — what a runner taking "a config, its dict or its file" needs."""
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        return cls.load(value)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (tuples become lists)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON, atomically; returns the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
