"""Dev-only: regenerate golden fixtures from real Keras.

    python tools/keras_fixtures/generate.py            # every family
    python tools/keras_fixtures/generate.py conv merge # some

Each ``cases_<family>.py`` defines ``CASES``, a list of ``build.case``/``build.seq`` specs,
written to ``tests/fixtures/keras3/<FIXTURE_KIND>/<family>.json`` (``FIXTURE_KIND`` defaults to
``layers``). A family that needs TensorFlow installed (``NEEDS_TENSORFLOW``) or another Keras 3
backend (``KERAS_3_BACKEND``) is skipped, with a line saying so, where this environment lacks it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import build


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    families = argv or sorted(p.stem.removeprefix("cases_") for p in here.glob("cases_*.py"))
    for family in families:
        module = importlib.import_module(f"cases_{family}")
        if reason := unmet_needs(module):
            print(f"skipped {family}: it {reason} (see its docstring)", file=sys.stderr)
            continue
        build.write(family, module.CASES, getattr(module, "FIXTURE_KIND", "layers"))


def unmet_needs(module: object) -> str | None:
    """Why this environment cannot record the family, or None when it can."""
    if getattr(module, "NEEDS_TENSORFLOW", False) and not importlib.util.find_spec("tensorflow"):
        return "needs TensorFlow installed"
    backend = getattr(module, "KERAS_3_BACKEND", None)
    if backend and not build.LEGACY and os.environ.get("KERAS_BACKEND") != backend:
        return f"is recorded with KERAS_BACKEND={backend}"
    return None


if __name__ == "__main__":
    main(sys.argv[1:])
