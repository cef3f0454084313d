import pytest

import baseline


@pytest.fixture(scope="session")
def tiny_reference(tiny_cfg, tiny_inputs):
    """The baseline's run on tiny: what every solution must reproduce."""
    return baseline.train(tiny_cfg, **tiny_inputs)
