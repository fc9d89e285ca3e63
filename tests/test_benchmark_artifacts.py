"""Every committed benchmark artifact runs through the public CLI: `hark parse --config <artifact>/config.yaml`."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

CASES = [("snips", "play the latest album by beyonce on spotify", "PlayMusic", {"artist": "beyonce"}),
         ("atis", "show me flights from boston to denver", "atis_flight",
          {"fromloc_city_name": "boston", "toloc_city_name": "denver"}),
         ("slurp", "wake me up at seven am tomorrow", "alarm_set", {})]


@pytest.mark.parametrize("dataset,text,intent,slots", CASES)
def test_artifact_parses_through_the_cli(dataset, text, intent, slots):
    config = ROOT / "benchmarks" / "artifacts" / dataset / "config.yaml"
    assert config.is_file(), f"missing {config}"
    proc = subprocess.run([sys.executable, "-m", "hark.cli", "--config", str(config), "parse", "--compact", text],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["skill"], out["intent"]) == (dataset, intent)
    got = {s["name"]: s["raw"] for s in out["slots"]}
    assert {k: got.get(k) for k in slots} == slots
    assert out["errors"] == []
