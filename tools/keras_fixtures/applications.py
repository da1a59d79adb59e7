"""Dev-only: the ``keras.applications`` models as Keras writes them, with what Keras computes.

    cd /work/main
    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/applications.py [Model]
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python tools/keras_fixtures/applications.py

write ``tests/fixtures/keras3/applications/<Model>.json.gz`` (and ``tfkeras2/applications/``
from tf.keras 2): ``model.to_json()`` of the model built with ``weights=None`` at its default
input size, every layer's output shapes and parameter counts, the output shapes and the
totals (the record of ``keras_json.py``).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from build import FIXTURES, ROOT, keras
from keras_json import model_record

APPLICATIONS = (
    "ResNet50", "VGG16", "MobileNetV2", "DenseNet121", "InceptionV3", "Xception",
    "EfficientNetB0", "NASNetMobile", "ConvNeXtTiny", "MobileNetV3Small", "EfficientNetV2B0",
    "ResNet50V2", "InceptionResNetV2", "MobileNet",
)


def main(names: list[str]) -> None:
    out_dir = FIXTURES / "applications"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names or APPLICATIONS:
        model = getattr(keras.applications, name)(weights=None)
        record = model_record(name, model)
        path = out_dir / f"{name}.json.gz"
        # mtime=0: the same model gives the same bytes, so regenerating leaves no diff.
        with gzip.GzipFile(path, "wb", mtime=0) as out:
            out.write(json.dumps(record, separators=(",", ":")).encode())
        print(f"{path.relative_to(ROOT)}: {len(record['layers'])} layers, "
              f"{record['totals']['params']:,} params", file=sys.stderr)
        keras.backend.clear_session()


if __name__ == "__main__":
    main(sys.argv[1:])
