"""Dev-only: regenerate golden fixtures from real Keras.

    python tools/keras_fixtures/generate.py            # every family
    python tools/keras_fixtures/generate.py conv merge # some

Each ``cases_<family>.py`` defines ``CASES``, a list of ``build.case``/``build.seq`` specs,
written to ``tests/fixtures/keras3/<FIXTURE_KIND>/<family>.json`` (``FIXTURE_KIND`` defaults to
``layers``).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import build


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    families = argv or sorted(p.stem.removeprefix("cases_") for p in here.glob("cases_*.py"))
    for family in families:
        module = importlib.import_module(f"cases_{family}")
        build.write(family, module.CASES, getattr(module, "FIXTURE_KIND", "layers"))


if __name__ == "__main__":
    main(sys.argv[1:])
