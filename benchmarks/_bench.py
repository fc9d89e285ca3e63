"""Helpers shared by the benchmark scripts (imported as ``_bench``: each script's folder is first on sys.path)."""
from __future__ import annotations

import datetime as _dt
import os as _os
import platform as _platform
import random
import shlex as _shlex
import subprocess as _subprocess
import sys as _sys
from pathlib import Path as _Path

__all__ = ["percentile", "corrupt_words", "provenance", "stamp", "plugin_settings"]


def percentile(xs: list[float], q: float) -> float:
    """Linear-interpolated quantile ``q`` in [0, 1] of ``xs``."""
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def plugin_settings(items: list[str], overrides: dict | None = None) -> dict:
    """``--set PLUGIN.KEY=JSON`` options as ``load_config`` overrides (``plugins.settings.PLUGIN``), added to
    ``overrides``."""
    import json

    out = dict(overrides or {})
    for item in items:
        key, value = item.split("=", 1)
        plugin, name = key.split(".", 1)
        out.setdefault(f"plugins.settings.{plugin}", {})[name] = json.loads(value)
    return out


def corrupt_words(words: list[str], rng: random.Random) -> list[str]:
    """An ASR-like error: drop, swap or misspell one word (to build n-best lists for latency runs)."""
    words = list(words)
    i = rng.randrange(len(words))
    op = rng.choice(("drop", "swap", "misspell"))
    if op == "drop" and len(words) > 1:
        del words[i]
    elif op == "swap" and len(words) > 1:
        j = min(i + 1, len(words) - 1)
        words[i], words[j] = words[j], words[i]
    else:
        w = words[i]
        words[i] = w[:-1] + "e" if len(w) > 2 else w + "s"
    return words


# ---------------------------------------------------------------------------------------------- provenance

#: when this process started (the import of _bench by a benchmark script) and the load average then
_STARTED_UTC = _dt.datetime.now(_dt.timezone.utc)
_LOAD_AT_START = [round(x, 2) for x in _os.getloadavg()] if hasattr(_os, "getloadavg") else None
#: the folders whose changes change what a benchmark measures (benchmarks/results is not one of them)
TRACKED = ("engine", "plugins", "config.yaml", "skills", "benchmarks", ":(exclude)benchmarks/results")


def _git(root: _Path, *args: str) -> str | None:
    try:
        done = _subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, _subprocess.SubprocessError):
        return None
    return done.stdout.rstrip() if done.returncode == 0 else None


def provenance(root: _Path | None = None) -> dict:
    """Where and how a result was measured: the git commit of ``root`` (the checkout the script lives in) and
    whether engine/, plugins/, config.yaml, skills/ or benchmarks/ (results excepted) differed from it, the exact
    command line, start (this module's import) and end UTC time, load average at start and end, CPU count, the
    python and onnxruntime versions, and which ``hark`` package was imported (an editable install elsewhere would
    measure other code)."""
    root = _Path(root) if root else _Path(__file__).resolve().parent.parent
    status = _git(root, "status", "--porcelain", "--", *TRACKED)
    dirty = None if status is None else [line[3:] for line in status.splitlines() if line.strip()]
    try:
        import onnxruntime
        ort = onnxruntime.__version__
    except ImportError:
        ort = None
    hark = _sys.modules.get("hark")
    now = _dt.datetime.now(_dt.timezone.utc)
    return {
        "commit": _git(root, "rev-parse", "HEAD"),
        "dirty": bool(dirty) if dirty is not None else None,
        "dirty_files": (dirty or [])[:20],
        "command": " ".join(_shlex.quote(a) for a in ["python", _os.path.relpath(_sys.argv[0], root)
                                                       if _sys.argv and _sys.argv[0] else "?", *_sys.argv[1:]]),
        "cwd": _os.getcwd(),
        "started_utc": _STARTED_UTC.isoformat(timespec="seconds"),
        "ended_utc": now.isoformat(timespec="seconds"),
        "seconds": round((now - _STARTED_UTC).total_seconds(), 1),
        "load_average_start": _LOAD_AT_START,
        "load_average_end": [round(x, 2) for x in _os.getloadavg()] if hasattr(_os, "getloadavg") else None,
        "cpus": _os.cpu_count(),
        "python": _platform.python_version(),
        "onnxruntime": ort,
        "hark_package": str(_Path(hark.__file__).resolve().parent) if hark and getattr(hark, "__file__", None) else None,
        "platform": _platform.platform(),
    }


def stamp(result: dict, root: _Path | None = None) -> dict:
    """``result`` with its ``provenance`` (see ``provenance``) added; call it where the result JSON is assembled."""
    result["provenance"] = provenance(root)
    return result
