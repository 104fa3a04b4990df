import pytest


@pytest.fixture(scope="session")
def host_frontend(signal_library):
    from mgrade_edge.frontend.host import HostFrontend

    return HostFrontend
