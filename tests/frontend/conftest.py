"""The filter-bank front end needs TFLite Micro's signal library (TFLM_DIR) and a host C++ compiler."""

import os

import pytest


@pytest.fixture(scope="session")
def host_frontend():
    from mgrade_edge.frontend.host import HostFrontend
    from mgrade_edge.frontend.spec import FrontendError

    def make(spec):
        try:
            return HostFrontend(spec)
        except FrontendError as exc:
            if os.environ.get("TFLM_DIR"):
                pytest.fail(f"TFLM_DIR is set but the front end cannot be built: {exc}")
            pytest.skip(str(exc))

    return make
