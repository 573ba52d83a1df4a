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


def _draw_without_local_constants() -> None:
    """Hypothesis mixes into its draws the literals of every project module loaded so far (costcore,
    bot, breakeven), so a derandomized test drew other examples depending on which test files were
    collected and in what order they ran. Its global constants (edge values) stay; the local pool is
    emptied, so a property's draws depend on the property alone (tests/test_properties.py checks it)."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # a Hypothesis without local constants: nothing to do
        return
    if hasattr(providers, "_get_local_constants"):
        empty = Constants()
        providers._get_local_constants = lambda: empty


_draw_without_local_constants()
