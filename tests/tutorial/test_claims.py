"""skdlib.tutorial.claims: a claim holds exactly when the numbers show the stated ordering."""

import math

import pytest

from skdlib.tutorial import Claim, OutputFolder, write_summary


@pytest.mark.parametrize(
    ("value", "reference", "factor", "relation", "held"),
    [
        (114, 0, 3.0, ">=", True),  # any unit against none
        (30, 10, 3.0, ">=", True),  # exactly 3x: the bound is inclusive
        (29.9, 10, 3.0, ">=", False),
        (0.011, 0.047, 0.3, "<=", True),
        (0.026, 0.061, 0.3, "<=", False),
        (0, 0, 3.0, ">=", True),  # 0 >= 0: nothing shown, nothing claimed beyond it
    ],
)
def test_held_is_the_stated_ordering(value, reference, factor, relation, held):
    claim = Claim("k", "x", value, reference, factor, relation)
    assert claim.held is held
    assert claim.line().startswith("held" if held else "MISSED")


def test_ratio_and_record():
    assert Claim("k", "x", 3.0, 2.0).ratio == 1.5
    assert Claim("k", "x", 1.0, 0.0).ratio == math.inf
    record = Claim("k", "x", 1.0, 0.0, 3.0).as_record()
    assert record["ratio"] == "inf" and record["held"] is True and record["factor"] == 3.0


def test_bad_claims_are_refused():
    with pytest.raises(ValueError, match="relation must be one of"):
        Claim("k", "x", 1.0, 1.0, relation=">")
    with pytest.raises(ValueError, match="claim 'k': value is not finite"):
        Claim("k", "x", float("nan"), 1.0)


def test_output_folder_records_prints_and_summarises_claims(tmp_path, capsys):
    out = OutputFolder("quick", root=tmp_path)
    out.claim("kl", "learned KL ≤ 0.3× random", 0.026, 0.061, factor=0.3, relation="<=")
    out.claim("units", "trained ≥ 3× random units", 114, 0, factor=3)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("MISSED · learned KL ≤ 0.3× random: 0.026 vs 0.061")
    assert printed[1].startswith("held   · trained ≥ 3× random units: 114 vs 0")
    assert out.metrics()["claims"]["kl"]["held"] is False
    text = write_summary(out).read_text()
    assert "1 of 2 held" in text
    assert "| kl | learned KL ≤ 0.3× random | 0.026 | 0.061 | 0.426 | **missed** |" in text
    assert "| units | trained ≥ 3× random units | 114 | 0 | inf | held |" in text
