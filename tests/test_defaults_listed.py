"""Every figure the analysis uses is one you typed or one the report lists among its assumptions.

The test walks every Scenario field the stages read (a scenario that records each read made from the cost
core), for generated scenarios: a field read while left out must be listed as an assumption (under its own
key or the key that shows the figure chosen instead), or be one whose absence means a feature is not used
(costcore.defaults.LEFT_OUT says what, and in which cases).
"""

from __future__ import annotations

import sys

from hypothesis import HealthCheck, assume, given, settings

from costcore import GrammarError, analyze, parse
from costcore.defaults import LEFT_OUT
from costcore.grammar import key_for_field
from costcore.scenario import Scenario

from .test_properties import scenario_values, text

FIELDS = set(Scenario.model_fields) - {"provenance"}


def analysed_with_reads(scenario: Scenario):
    """The report, and each field the cost core read while it was left out."""
    reads: set[str] = set()

    class Recorded(Scenario):
        def __getattribute__(self, name):
            if name in FIELDS:
                caller = sys._getframe(1).f_code.co_filename
                # grammar.to_text writes the scenario back as text for the next step: a copy, not a use
                if "costcore" in caller and not caller.endswith("grammar.py"):
                    reads.add(name)
            return super().__getattribute__(name)

    recorded = Recorded.model_construct(**{f: getattr(scenario, f) for f in Scenario.model_fields})
    report = analyze(recorded)
    return report, reads


def unlisted(scenario: Scenario) -> list[str]:
    report, reads = analysed_with_reads(scenario)
    given = {f for f in FIELDS if getattr(scenario, f) is not None}
    listed = {a.key for a in report.assumptions}
    noted = " ".join(report.notes)
    missing = []
    for field in sorted(reads - given):
        left_out = LEFT_OUT.get(field)
        if key_for_field(field) in listed or (left_out and left_out.key and left_out.key in listed):
            continue
        if f"`{key_for_field(field)}=`" in noted:
            continue  # a note says what became of it
        if left_out is not None and left_out.applies(given):
            continue
        missing.append(field)
    return missing


def test_every_field_can_be_accounted_for():
    # Each field is either a listed default or in LEFT_OUT (with what its absence means).
    from costcore.defaults import DEFAULTS

    defaults = {key for key in DEFAULTS} | {"ha", "cached", "fail_ft", "fail_api", "ft_in", "manual_rate", "volume"}
    for field in FIELDS:
        assert field in LEFT_OUT or key_for_field(field) in defaults, field


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(scenario_values())
def test_every_field_read_is_typed_or_listed_as_an_assumption(values):
    try:
        scenario = parse(text(values))
        missing = unlisted(scenario)
    except GrammarError:
        assume(False)
    assert not missing, (text(values), missing)


def test_the_issue_example_lists_the_fine_tuned_failure_rate():
    scenario = parse("fail_api=10% fail_cost=$1")
    assert unlisted(scenario) == []
    report = analyze(scenario)
    fail_ft = next(a for a in report.assumptions if a.key == "fail_ft")
    assert fail_ft.value == "10.0%" and "equal" in fail_ft.note
    assert report.failure.fail_ft == 0.10


def test_a_default_read_silently_is_caught(monkeypatch):
    # Break the line: a stage that takes a figure without listing it must make the walk fail.
    import costcore.compare as compare

    silent = eval(compile("lambda s, key, ledger: getattr(s, key) or 0.0", compare.__file__, "eval"))  # noqa: S307
    monkeypatch.setattr(compare, "_rate", silent)
    assert unlisted(parse("fail_api=10% fail_cost=$1")) == ["fail_ft"]
