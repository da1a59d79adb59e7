"""The client installs on its own, with only ``requests``: none of its modules imports the
service, numpy, Flask or h5py until a feature that needs them is used; a legacy .h5 model and
the weights saved in a model file are read without them."""

from __future__ import annotations

import subprocess
import sys

from seed_models import SAVED

WITHOUT_THE_SERVICE = """
import sys

class Refuse:
    '''Makes every package but requests' and the standard library's unimportable.'''
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in sys.argv[2].split(","):
            raise ImportError(f"not installed here: {name}")

sys.meta_path.insert(0, Refuse())
import shapecheck_client, shapecheck_client.cli, shapecheck_client.inprocess
from shapecheck_client import saved_weights
from shapecheck_client.client import load_model
print(load_model(sys.argv[1])["config"]["name"])
print(load_model(sys.argv[3])["config"]["name"], sorted(saved_weights(sys.argv[3])))
try:
    shapecheck_client.Client("inprocess:")
except shapecheck_client.ShapecheckError as error:
    print(error)
"""


def test_the_client_imports_and_reads_models_with_only_requests() -> None:
    refused = "shapecheck,numpy,flask,marshmallow,h5py,gunicorn,prometheus_client,werkzeug"
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_SERVICE, str(SAVED / "seed000.keras"), refused,
         str(SAVED / "seed000.h5")], capture_output=True, text=True, check=True)
    name, h5, error = done.stdout.splitlines()
    assert name == "seed000"
    assert h5 == "seed000 ['conv2d', 'dense', 'dense_1']"
    assert error.startswith("inprocess: runs the service in this process, which needs")
