"""TextVectorization with ``ragged=True``, which only Keras 3's TensorFlow backend builds (on
JAX, Keras refuses it: "`ragged=True` can only be used with the TensorFlow backend").
shapecheck builds it, as the TensorFlow backend does, so its Keras 3 record comes from that
backend:

    KERAS_BACKEND=tensorflow /work/devenv/tfkeras/bin/python \\
        tools/keras_fixtures/generate.py text_ragged   # Keras 3 -> tests/fixtures/keras3/
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python \\
        tools/keras_fixtures/generate.py text_ragged   # tf.keras 2 -> tests/fixtures/tfkeras2/
"""

from cases_preprocessing_tf import ABC, text

NEEDS_TENSORFLOW = True
KERAS_3_BACKEND = "tensorflow"

CASES = [
    text("text_ragged", [1], vocabulary=ABC, ragged=True),
    text("text_ragged_3d", [2, 1], vocabulary=ABC, ragged=True),
]
