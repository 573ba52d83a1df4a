"""costcore.measured: a saved measurement fills a scenario, typed keys win, and the report knows which is which."""

import pytest

from costcore import GrammarError, analyze, parse
from costcore.grammar import to_text
from costcore.measured import Measurement, apply_measurement, resolve_measured, scenario_keys

NOV = Measurement(
    name="support-nov",
    date="2026-11-30",
    endpoint="api vs l4",
    in_tokens=1523.4,
    out_tokens=187.2,
    ft_in_tokens=310.0,
    capacity_tok_s=812.5,
    fail_api=0.042,
    fail_ft=0.061,
)


def test_every_measured_figure_fills_what_was_not_typed_and_is_marked():
    scenario = resolve_measured(parse("measured=support-nov volume=2M/month in=1000"), {"support-nov": NOV})
    assert scenario.in_tokens == 1000  # typed: it wins
    assert (scenario.out_tokens, scenario.ft_in_tokens, scenario.capacity_tok_s) == (187.2, 310.0, 812.5)
    assert (scenario.fail_api, scenario.fail_ft) == (0.042, 0.061)
    assert scenario.provenance == dict.fromkeys(
        ["out_tokens", "ft_in_tokens", "capacity_tok_s", "fail_api", "fail_ft"], "measured support-nov on 2026-11-30"
    )
    # The canonical text keeps measured=NAME and what was typed, not the filled figures.
    assert to_text(scenario) == "volume=2000000/month in=1000 measured=support-nov"


def test_a_figure_typed_another_way_wins_too():
    scenario = apply_measurement(parse("volume=1M prompt_cut=80% capacity=30qps"), NOV)
    assert scenario.ft_in_tokens is None and scenario.capacity_tok_s is None
    assert scenario.prompt_cut == 0.8 and scenario.capacity_qps == 30
    assert "ft_in_tokens" not in scenario.provenance and "capacity_tok_s" not in scenario.provenance


def test_the_analysis_uses_the_measured_figures_and_marks_them():
    text = "measured=support-nov volume=1M api=gpt-4o-mini gpu=l4 fail_cost=$2"
    report = analyze(resolve_measured(parse(text), {"support-nov": NOV}))
    assert report.tokens_per_month == pytest.approx(1e6 * (1523.4 + 187.2))
    assert report.capacity.source == "measured" and report.capacity.output_tok_s == pytest.approx(812.5)
    assert report.failure.fail_api == 0.042 and report.failure.fail_ft == 0.061
    marked = {a.key: a.note for a in report.assumptions if a.measured}
    assert marked == dict.fromkeys(["in", "out", "ft_in", "capacity", "fail_api", "fail_ft"], NOV.label())
    assert not {a.key for a in report.assumptions if not a.measured} & {"in", "out"}


def test_a_partial_measurement_fills_only_what_it_has():
    speed_only = Measurement(name="speed", date="2026-11-30", capacity_tok_s=400)
    scenario = apply_measurement(parse("volume=1M"), speed_only)
    assert scenario.capacity_tok_s == 400 and scenario.in_tokens is None
    assert list(scenario.provenance) == ["capacity_tok_s"]


def test_an_unknown_name_is_an_error_on_measured_that_lists_the_saved_ones():
    with pytest.raises(GrammarError) as caught:
        resolve_measured(parse("measured=support-dec volume=1M"), {"support-nov": NOV, "a": NOV})
    assert caught.value.key == "measured"
    assert "no saved measurement is called 'support-dec'; saved: `a`, `support-nov`" in str(caught.value)
    with pytest.raises(GrammarError, match="none is saved yet"):
        resolve_measured(parse("measured=x"), {})
    assert resolve_measured(parse("volume=1M"), {}) == parse("volume=1M")


def test_the_keys_to_reuse_parse_back_to_the_same_figures():
    text = scenario_keys(NOV.figures())
    assert text == "in=1523 out=187 ft_in=310 capacity=812.5tok/s fail_api=4.2% fail_ft=6.1%"
    back = parse(text)
    assert (back.in_tokens, back.capacity_tok_s, back.fail_api, back.fail_ft) == (1523, 812.5, 0.042, 0.061)


def test_the_api_latency_is_filled_against_a_latency_bound_only():
    timed = NOV.model_copy(update={"api_latency_ms": 2400.0, "api_ttft_ms": 600.0})
    assert apply_measurement(parse("volume=1M"), timed).api_latency_ms is None  # no bound: it would be noise
    bound = apply_measurement(parse("volume=1M latency=3s"), timed)
    assert bound.api_latency_ms == 2400 and bound.provenance["api_latency_ms"] == timed.label()
    assert apply_measurement(parse("volume=1M latency=1s streaming=yes"), timed).api_latency_ms == 600
    assert apply_measurement(parse("volume=1M latency=3s api_latency=900ms"), timed).api_latency_ms == 900
    report = analyze(apply_measurement(parse("volume=1M latency=2s api=gpt-4o-mini"), timed))
    assert "The latency bound rules out the API" in " ".join(report.reasons)


def test_the_own_endpoints_measured_latency_replaces_the_modelled_one_against_a_bound():
    timed = NOV.model_copy(update={"ft_latency_ms": 4200.0, "ft_ttft_ms": 380.0})
    assert apply_measurement(parse("volume=1M"), timed).ft_latency_ms is None  # no bound: it would be noise
    bound = apply_measurement(parse("volume=1M latency=3s"), timed)
    assert bound.ft_latency_ms == 4200 and bound.provenance["ft_latency_ms"] == timed.label()
    assert apply_measurement(parse("volume=1M latency=1s streaming=yes"), timed).ft_latency_ms == 380
    assert apply_measurement(parse("volume=1M latency=3s ft_latency=900ms"), timed).ft_latency_ms == 900
    # The model sizes an H100 to answer inside 3 s; the endpoint measured 4.2 s at p95.
    text = "volume=1M latency=3s api=gpt-4o-mini gpu=h100"
    modelled = next(c for c in analyze(parse(text)).constraints if c.option == "selfhost")
    measured = next(c for c in analyze(apply_measurement(parse(text), timed)).constraints if c.option == "selfhost")
    assert modelled.met and "modelled" in modelled.detail
    assert not measured.met and measured.detail.startswith("~4,200 ms a whole answer") and "measured" in measured.detail
    assert "ft_latency=4200ms" in scenario_keys(timed.figures() | {"ft_latency_ms": 4200.0})
