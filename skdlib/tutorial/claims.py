"""What each number was expected to show, and whether it did.

A tutorial figure can show nothing while its number looks fine, and a number can look fine by
chance. So every number the tutorial relies on is stated with the ordering it is expected to show
against its baseline ("trained ≥ 3× random", "learned ≤ 0.3× random") and checked. A missed
expectation is reported as missed, never hidden: :meth:`Claim.line` says so in the notebook, and
the runner's ``summary.md`` lists every claim with its outcome.

Example:
    >>> c = Claim("kl", "learned KL ≤ 0.3× random", 0.011, 0.047, factor=0.3, relation="<=")
    >>> c.held, round(c.ratio, 2)
    (True, 0.23)
    >>> c.line()
    'held   · learned KL ≤ 0.3× random: 0.011 vs 0.047 (ratio 0.234)'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Claim"]

RELATIONS = (">=", "<=")


@dataclass(frozen=True)
class Claim:
    """``value`` is expected to be ``relation`` ``factor × reference``.

    Attributes:
        key: short name (``metrics.json`` key), e.g. ``"dissection_layer4"``.
        expected: the ordering in words, e.g. ``"trained units ≥ 3× random-weights units"``.
        value: the measured number; reference: its baseline.
        factor: the multiple of ``reference`` the claim asks for.
        relation: ``">="`` (value at least) or ``"<="`` (value at most).
    """

    key: str
    expected: str
    value: float
    reference: float
    factor: float = 1.0
    relation: str = ">="

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {self.relation!r}")
        for name in ("value", "reference", "factor"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"claim {self.key!r}: {name} is not finite")

    @property
    def ratio(self) -> float:
        """``value / reference`` (``inf`` for a positive value over a zero reference)."""
        if self.reference == 0:
            return math.inf if self.value > 0 else (math.nan if self.value == 0 else -math.inf)
        return self.value / self.reference

    @property
    def held(self) -> bool:
        """Whether the measured numbers show the expected ordering."""
        bound = self.factor * self.reference
        return self.value >= bound if self.relation == ">=" else self.value <= bound

    def line(self) -> str:
        """One line for a notebook: outcome, expectation, the two numbers and their ratio."""
        outcome = "held  " if self.held else "MISSED"
        return (
            f"{outcome} · {self.expected}: {self.value:.3g} vs {self.reference:.3g} "
            f"(ratio {self.ratio:.3g})"
        )

    def as_record(self) -> dict[str, Any]:
        """The claim as a ``metrics.json`` entry (with ``ratio`` and ``held``)."""
        ratio = self.ratio
        return {**asdict(self), "ratio": ratio if math.isfinite(ratio) else str(ratio)} | {
            "held": self.held
        }
