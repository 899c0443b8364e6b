"""skdlib.dissect.rules: NetDissect's rule as the defaults every part of a dissection uses."""

import inspect
import subprocess
import sys

from skdlib.dissect import DissectionResult, dissect
from skdlib.dissect.rules import AREA_MODES, DEFAULT_QUANTILE, INTERPRETABLE_IOU


def test_the_rule_is_bau_et_al_s_and_the_defaults_use_it():
    assert (DEFAULT_QUANTILE, INTERPRETABLE_IOU) == (0.995, 0.04)
    signature = inspect.signature(dissect)
    assert signature.parameters["quantile"].default == DEFAULT_QUANTILE
    assert signature.parameters["activation_area"].default == AREA_MODES[0] == "annotated"
    interpretable = inspect.signature(DissectionResult.interpretable)
    assert interpretable.parameters["threshold"].default == INTERPRETABLE_IOU


def test_reading_the_rule_loads_no_torch():
    code = "import sys, skdlib.dissect.rules; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
