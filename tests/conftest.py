import os

# Charts render off-screen in every test, whatever the machine's display.
os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests draw the same examples on every run, whatever pytest-randomly's seed: a CI run
# must not fail on a new draw that the change under test did not cause. To look for new failures,
# draw fresh ones: HYPOTHESIS_PROFILE=explore pytest -q -p no:randomly tests/test_properties.py
from hypothesis import settings  # noqa: E402

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
