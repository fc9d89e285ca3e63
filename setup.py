"""Wheel builds also carry the bundled skills, the default config.yaml and the demo inputs (as ``hark/bundled``),
so `pip install hark-nlu` gives an engine that starts without the source checkout. Everything else is in
pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = (("config.yaml", "config.yaml"), ("skills", "skills"), ("examples/demo", "examples/demo"))


class BuildWithBundledData(build_py):
    """build_py plus a copy of the top-level data the engine finds through ``hark.config.project_root``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout itself
            return
        target = Path(self.build_lib) / "hark" / "bundled"
        for src, dst in BUNDLED:
            source, dest = ROOT / src, target / dst
            if source.is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildWithBundledData})
