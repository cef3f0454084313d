"""Every kernel test runs under ExplicitDevice (tests/devicemode.py), on every device: a
tensor or generator made without naming its device is refused on a laptop CPU exactly as
the mistake would have broken the test on CUDA."""

import pytest
from devicemode import ExplicitDevice


@pytest.fixture(autouse=True)
def every_tensor_names_its_device():
    with ExplicitDevice():
        yield
