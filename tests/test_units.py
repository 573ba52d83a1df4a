"""Units: one rule for every key, checked key by key from the key table (costcore.grammar.KEYS).

Every key declares its kind and the units it accepts (Key.units: as typed, the field's value for one of
it, the field). Each accepted unit must read to that value; each kind refuses what is not of its kind:
a money sign on a count or a time, a count unit after money, a percentage on anything but a share, a
share over what the key allows, `m` on a time (minutes, months or millions?), `/m` as a period, and a
bare number where the key has no unit of its own. Keys added to the table are checked with no change here.
"""

from __future__ import annotations

import math

import pytest

from costcore import GrammarError, parse
from costcore.grammar import KEYS, field_range

NUMBER_KINDS = ("count", "money", "time", "factor", "rate", "share", "price", "growth", "size")
UNITS = [(name, unit) for name, key in KEYS.items() for unit in key.units]


def _value_for(field: str, factor: float) -> float:
    """A round number whose reading (x factor) sits well inside the field's range."""
    low, high = field_range(field)
    low = low or 0.0
    for candidate in (2.0, 3.0, 1.0, 0.5, 0.25, 0.01, 10.0, 100.0, 12.0):
        reading = candidate * factor
        if low < reading and (high is None or reading < high):
            return candidate
    raise AssertionError(f"no test value fits {field} at factor {factor}")


def _typed(value: float, suffix: str) -> str:
    return f"{value:g}{suffix}"


def refused(text: str, key: str) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse(text)
    assert caught.value.key == key, (text, str(caught.value))
    parse(caught.value.example)  # the example offered must work
    return caught.value


def test_every_number_key_declares_its_kind_and_units():
    for name, key in KEYS.items():
        if key.kind in NUMBER_KINDS and name != "uptime":
            assert key.units, f"{name} takes a number but lists no unit"
        if key.kind in NUMBER_KINDS and key.units and key.kind != "growth":
            described = bool(key.bare)
            assert described == any(suffix == "" for suffix, _, _ in key.units), (name, "bare: described or refused")


@pytest.mark.parametrize("name, unit", UNITS, ids=[f"{n}={u[0] or 'bare'}" for n, u in UNITS])
def test_every_unit_a_key_accepts_reads_to_its_value(name, unit):
    suffix, factor, field = unit
    value = _value_for(field, factor)
    scenario = parse(f"{name}={_typed(value, suffix)}", check_names=False)
    got = getattr(scenario, field)
    assert got == pytest.approx(value * factor, rel=1e-12), (name, suffix)
    if KEYS[name].kind in ("money", "price"):
        assert getattr(parse(f"{name}=${_typed(value, suffix)}", check_names=False), field) == got


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if k.kind not in ("money", "price") and k.units])
def test_a_money_sign_on_anything_but_money_is_refused(name):
    suffix, factor, field = KEYS[name].units[0]
    error = refused(f"{name}=${_typed(_value_for(field, factor), suffix)}", name)
    assert "money sign" in error.problem


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if k.kind in ("money", "price")])
@pytest.mark.parametrize("unit", [" tokens", " requests", " gpus", "%"])
def test_money_with_a_count_or_a_percentage_is_refused(name, unit):
    error = refused(f"{name}=$50{unit}", name)
    assert "dollars" in error.problem or "unexpected" in error.problem


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if k.kind in ("count", "time", "factor", "rate")])
def test_a_percentage_on_a_count_a_time_or_a_factor_is_refused(name):
    refused(f"{name}=50%", name)


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if k.kind == "share" and n != "uptime"])
@pytest.mark.parametrize("text", ["150%", "101%", "80", "$30%"])
def test_a_share_over_what_the_key_allows_or_ambiguous_is_refused(name, text):
    refused(f"{name}={text}", name)


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if k.kind == "time"])
@pytest.mark.parametrize("text", ["3m", "3 m", "3M", "2.5m"])
def test_m_on_a_time_is_refused_as_ambiguous_with_the_fix(name, text):
    error = refused(f"{name}={text}", name)
    assert "ambiguous" in error.problem
    number = text.rstrip("mM ")
    assert f"{number}min" in error.problem  # minutes is always offered, with the key's other reading


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if k.kind == "time"])
def test_every_time_key_reads_ms_s_min_h_and_d(name):
    words = {suffix for suffix, _, _ in KEYS[name].units}
    assert {"ms", "s", "min", "h", "d"} <= words


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if k.kind in ("time", "rate") and not k.bare])
def test_a_bare_number_is_refused_where_the_unit_changes_the_meaning(name):
    error = refused(f"{name}=150", name)
    assert "no unit" in error.problem
    assert KEYS[name].units[0][0].strip() in error.problem  # it names the units it accepts


def _period(unit) -> bool:
    return "/" in unit[0] and "1M" not in unit[0]  # /1M is per million tokens, not a period


@pytest.mark.parametrize("name", [n for n, k in KEYS.items() if any(_period(u) for u in k.units)])
def test_slash_m_as_a_period_is_refused_as_ambiguous(name):
    suffix, factor, field = next(u for u in KEYS[name].units if _period(u))
    typed = _typed(_value_for(field, factor), suffix.split("/")[0]) + "/m"
    error = refused(f"{name}={typed}", name)
    assert "ambiguous" in error.problem and "/min or /month" in error.problem


@pytest.mark.parametrize("name", sorted(KEYS))
def test_an_error_quotes_only_a_short_prefix_of_a_long_value(name):
    long_value = "1" + "x" * 5_000
    with pytest.raises(GrammarError) as caught:
        parse(f"{name}={long_value}")
    assert len(str(caught.value)) < 400, str(caught.value)[:500]


def test_an_unknown_key_of_any_length_is_named_by_a_short_prefix():
    with pytest.raises(GrammarError) as caught:
        parse("k" * 3_000 + "=5")
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    "text, field, value",
    [
        ("latency=3min", "latency_ms", 180_000),
        ("api_latency=2.5s", "api_latency_ms", 2_500),
        ("ft_latency=900ms", "ft_latency_ms", 900),
        ("latency=0.5h", "latency_ms", 1_800_000),
        ("manual_h=3min", "manual_h", 0.05),
        ("manual_h=90s", "manual_h", 0.025),
        ("data_h=5d", "data_h", 40),
        ("eval_h=1wk", "eval_h", 40),
        ("maint_h=2h/week", "maint_h", 2 * 365 / 12 / 7),
        ("horizon=2y", "horizon", 24),
        ("horizon=90d", "horizon", 90 * 24 / 730),
        ("horizon=18", "horizon", 18),
    ],
)
def test_times_in_the_units_people_write(text, field, value):
    assert math.isclose(getattr(parse(text), field), value, rel_tol=1e-12)


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("api_latency=3m", "api_latency", "3min or 3ms"),
        ("manual_h=3m", "manual_h", "3min or 3h"),
        ("horizon=3m", "horizon", "3mo or 3min"),
        ("volume=$2M", "volume", "money sign"),
        ("in=$500", "in", "money sign"),
        ("setup=5k tokens", "setup", "counts tokens"),
        ("latency=150", "latency", "no unit"),
        ("capacity=30", "capacity", "no unit"),
    ],
)
def test_the_issue_examples(text, key, words):
    assert words in refused(text, key).problem
