"""The hostile inputs of issue 14 through the real `hark` command: time, peak memory and the one line it prints.

    python benchmarks/hostile_inputs.py          # -> benchmarks/results/hostile_inputs.json

Each input runs in a fresh process (whole-process wall time and max RSS, start-up included), beside a baseline run
of a harmless line, with the bundled skills and the trained intent tier on (the ASR plugin off: the audio limits
are checked from the WAV header before any decoding). Target: refused or bounded within 2 s and 300 MB. The input
builders are the ones tests/test_limits.py asserts on.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from test_limits import deep_json, long_text, measure, nbest_file, silent_wav, wav_header  # noqa: E402


def cases(folder: Path) -> dict[str, tuple[list[str], Path | None]]:
    text = folder / "long.txt"
    text.write_text(long_text() + "\n")
    harmless = folder / "one.jsonl"
    harmless.write_text('{"text": "turn off the kitchen lights"}\n')
    return {
        "baseline (one harmless line on hark stream)": (["stream"], harmless),
        "10,000-hypothesis n-best (hark parse --nbest -)": (["parse", "--nbest", "-"],
                                                            nbest_file(folder / "n10k.json", 10_000)),
        "1,000-hypothesis n-best (hark parse --nbest -)": (["parse", "--nbest", "-"],
                                                           nbest_file(folder / "n1k.json", 1_000)),
        "JSON nested 100,000 deep (hark parse --nbest -)": (["parse", "--nbest", "-"],
                                                            deep_json(folder / "deep.json")),
        "JSON nested 100,000 deep (hark stream)": (["stream"], deep_json(folder / "deep.jsonl")),
        "command + 851 KB of words (hark stream)": (["stream"], text),
        "78 KB WAV declaring 4,000,000,000 Hz (hark transcribe)": (
            ["transcribe", str(wav_header(folder / "4ghz.wav", 4_000_000_000))], None),
        "30 minutes of silence (hark transcribe)": (["transcribe", str(silent_wav(folder / "silence.wav", 1800))],
                                                    None),
    }


def _error_event(stdout: str) -> str:
    """The message of the first ``error`` event `hark stream` wrote (the stream reports a bad line and goes on)."""
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("kind") == "error":
            return "error event: " + str(event["data"].get("message", ""))[:190]
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "hostile_inputs.json"))
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "config.yaml"
        config.write_text(json.dumps({"skills": {"paths": [str(ROOT / "skills")]},
                                      "plugins": {"disabled": ["asr_pocketsphinx"]}}))
        for name, (argv, stdin) in cases(folder).items():
            run = measure(argv, config, stdin)
            said = (run["stderr"].strip().splitlines() or [""])[-1][:200] or _error_event(run["stdout"])
            rows[name] = {"exit": run["rc"], "seconds": round(run["seconds"], 2),
                          "max_rss_mb": round(run["max_rss_mb"], 1), "stderr": said,
                          "within_2s_300mb": run["seconds"] < 2.0 and run["max_rss_mb"] < 300}
            print(f"{name:58s} exit {run['rc']}  {run['seconds']:5.2f} s  {run['max_rss_mb']:6.1f} MB  {said[:90]}",
                  flush=True)
    out = {"command": "python benchmarks/hostile_inputs.py", "load_average": [round(x, 2) for x in os.getloadavg()],
           "cpus": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": rows}
    stamp(out)
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
