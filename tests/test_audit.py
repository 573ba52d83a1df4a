"""The hidden-cost audit: lines, iteration ranges, pitfalls, and the verdict re-run with audited costs."""

import json

import pytest

from breakeven.cli import main
from costcore import GrammarError, analyze, parse
from costcore.audit import ACTIVITIES, AuditInput, audited_scenario, run_audit
from costcore.grammar import audit_to_text, parse_audit


def test_typical_mid_range_audit_by_hand():
    result = run_audit(AuditInput())  # every line at its typical mid-range figure
    data = 25 + 12 + 5 + 20 + 40  # within 47-158 h
    evaluation = 3 + 15 + 10 + 8  # within 22-50 h
    infra = 8 + 5  # within 5-20 h
    base = 5 * 50 + (data + evaluation + infra) * 100
    assert result.base_one_time == pytest.approx(base)  # $15,350
    assert (result.realistic_low, result.realistic_high) == pytest.approx((base * 4, base * 6))  # medium: 4-6x
    assert result.ops_hours_monthly == 4 + 3 + 3
    assert result.ops_monthly_cost == pytest.approx(1000)
    assert result.pitfalls == []
    # The iceberg: training compute is the visible tip, people's time the rest.
    assert result.training_share < 0.1


@pytest.mark.parametrize("complexity, low, high", [("well-defined", 2, 3), ("medium", 4, 6), ("novel", 8, 10)])
def test_iteration_multiplier_ranges(complexity, low, high):
    result = run_audit(parse_audit(f"complexity={complexity} runs=1 train=100 " + _zero_hours()))
    assert result.base_one_time == pytest.approx(100)
    assert (result.realistic_low, result.realistic_high) == pytest.approx((100 * low, 100 * high))


def _zero_hours():
    return " ".join(f"{a.key}=0" for a in ACTIVITIES)


@pytest.mark.parametrize(
    "text, words",
    [
        ("collect_h=5 clean_h=2 format_h=1 review_h=5 iterate_h=5", "Data under-budgeted"),
        ("metrics_h=0 evalset_h=0 pipeline_h=0 analysis_h=0", "No evaluation budget"),
        ("runs=1", "single training run"),
        ("maintenance_h=0 updates_h=0 incidents_h=0", "Maintenance at 0 h"),
        ("train_gpu=t4 params=7B", "Slow hardware"),
    ],
)
def test_each_pitfall_is_caught_with_its_reason(text, words):
    result = run_audit(parse_audit(text))
    assert any(words in p for p in result.pitfalls), result.pitfalls


def test_audit_re_runs_the_verdict_with_audited_costs():
    scenario = parse("volume=400k api=gpt-4o in=1500 out=200 gpu=a10g setup=5000 train=0 maint_h=2")
    original = analyze(scenario)
    answers = parse_audit("complexity=novel")
    audited = analyze(audited_scenario(scenario, answers))
    result = run_audit(answers)
    assert audited.one_time_cost == pytest.approx(result.realistic_mid)  # novel: 9x the base
    assert audited.selfhost_monthly_cost == pytest.approx(original.selfhost_monthly_cost + (10 - 2) * 100)
    assert original.verdict == "BUY" and audited.verdict == "RENT"
    assert audited.payback_months > 12


def test_bad_audit_answers_name_the_line():
    for text, key in [
        ("collect_h=-3", "collect_h"),
        ("rate=0", "rate"),
        ("runs=many", "runs"),
        ("colect_h=3", "colect_h"),
    ]:
        with pytest.raises(GrammarError) as caught:
            parse_audit(text)
        assert caught.value.key == key
        parse_audit(caught.value.example)


def test_audit_answers_round_trip_through_text():
    answers = parse_audit("complexity=well-defined task=mixed collect_h=30 incidents_h=2 rate=90 runs=7 train=12.5")
    assert parse_audit(audit_to_text(answers)) == answers


def test_cli_audit_prints_the_range_and_side_by_side(capsys):
    code = main(["audit", "complexity=medium", "runs=1", "--analysis", "volume=2M api=gpt-4o in=1500 out=200"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Realistic one-time cost: $60,600 - $90,900")  # base $15,150 x 4-6
    assert "single training run" in out
    assert "as analysed" in out and "audited" in out


def test_cli_audit_json(capsys):
    assert main(["audit", "complexity=well-defined", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["audit"]["realistic_low"] == pytest.approx(data["audit"]["base_one_time"] * 2)


def test_cli_audit_bad_line_exits_2(capsys):
    assert main(["audit", "collect_h=lots"]) == 2
    assert "`collect_h`" in capsys.readouterr().err
