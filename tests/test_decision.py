"""The decision as teams make it: start from a use case, project growth, weigh what is not cost,
and end with one next step. Each test states what a user would see."""

import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from costcore import GrammarError, analyze, parse, to_text
from costcore.scenario import SECONDS_PER_MONTH
from costcore.templates import catalogue
from costcore.text import render

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
GOLDEN = Path(__file__).parent / "data" / "reports_without_growth.json"


def run(text):
    return analyze(parse(text), now=NOW)


def assumption(report, key):
    return next(a for a in report.assumptions if a.key == key)


# ---------------------------------------------------------------------------------------------
# Use-case templates


def test_the_catalogue_has_eight_narrow_use_cases_each_with_a_dated_source():
    templates = catalogue()
    assert len(templates) >= 8
    assert len({t.name for t in templates}) == len(templates)
    for t in templates:
        assert t.volume.low <= t.volume.typical <= t.volume.high
        assert t.rationale and t.sources
        for source in t.sources:
            assert source.url.startswith("http") and source.title and source.date[:4].isdigit()


@pytest.mark.parametrize("template", catalogue(), ids=lambda t: t.name)
def test_every_template_analyses_and_its_figures_come_from_its_data(template):
    report = run(f"use={template.name}")
    assert report.template.name == template.name
    assert report.requests_per_month == template.volume.typical
    assert report.tokens_per_month == template.volume.typical * (template.in_tokens + template.out_tokens)
    low, high = {"well-defined": (2, 3), "medium": (4, 6), "novel": (8, 10)}[template.complexity]
    assert report.one_time_range[1] / report.one_time_range[0] == pytest.approx(high / low)
    api_out = [c for c in report.constraints if c.name == "privacy" and c.option == "api"]
    assert bool(api_out) == template.privacy.required
    for key in ("volume", "in", "out", "complexity"):
        shown = assumption(report, key)
        assert shown.note.startswith(f"from use={template.name}")  # the template's figure, not a default
        assert template.sources[0].url in shown.source
    assert template.name in render(report).splitlines()[1]


def test_any_key_overrides_the_template():
    report = run("use=support-chatbot volume=2M out=80")
    assert report.requests_per_month == 2_000_000
    assert report.tokens_per_month == 2_000_000 * (1500 + 80)
    assert set(report.template.overridden) == {"volume", "out"}
    assert "volume" not in report.template.filled and "in" in report.template.filled
    assert not assumption(report, "in").custom
    assert all(a.key != "out" for a in report.assumptions)


def test_a_template_whose_every_figure_is_given_is_answered_with_a_note():
    report = run("use=ticket-tagging volume=1M in=400 out=30 iter=3 task=narrow privacy=no")
    assert report.template.filled == []
    assert any(note.startswith("`use=` is not used") for note in report.notes)


def test_an_unknown_template_names_the_key_and_the_nearest_one():
    with pytest.raises(GrammarError) as caught:
        parse("use=support-chatbt")
    assert caught.value.key == "use" and caught.value.example == "use=support-chatbot"
    assert "breakeven templates" in str(caught.value)


def test_a_template_round_trips_through_the_text_form():
    scenario = parse("use=sql-generation growth=3x/year volume=50k")
    assert parse(to_text(scenario)) == scenario


# ---------------------------------------------------------------------------------------------
# Growth


# One instance serves 1 request a second: 2,628,000 a month. The API costs $0.00027 a request, so
# each further instance earns $709.56 for its $500: a staircase where buying pays, stops, pays again.
GROWING = (
    "volume=1M api_price=0.15/0.6 in=1000 out=200 server=$500 capacity=1qps maint_h=5 rate=$100/h "
    "setup=$3,000 growth=20%/month"
)


def by_hand(months, volume=1e6, rate=0.2, one_time=3000.0):
    """The month-by-month path worked out here, independently of the core."""
    per_request = (1000 * 0.15 + 200 * 0.6) / 1e6
    per_instance = 1 * SECONDS_PER_MONTH
    rows, cumulative = [], -one_time
    for month in range(1, months + 1):
        requests = volume * (1 + rate) ** (month - 1)
        instances = max(1, math.ceil(requests / per_instance))
        api, selfhost = requests * per_request, instances * 500 + 5 * 100
        cumulative += api - selfhost
        rows.append((month, requests, instances, api, selfhost, api - selfhost, cumulative))
    return rows


def test_growth_is_exact_month_by_month_on_the_staircase():
    report = run(GROWING)
    g = report.growth
    expected = by_hand(24)
    assert report.horizon_months == 24 and len(g.months) == 24
    for row, (month, requests, instances, api, selfhost, savings, cumulative) in zip(g.months, expected, strict=True):
        assert row.month == month
        assert row.requests == pytest.approx(requests, rel=1e-12)
        assert row.instances == instances
        assert row.baseline_cost == pytest.approx(api, rel=1e-12)
        assert row.selfhost_cost == pytest.approx(selfhost, rel=1e-12)
        assert row.savings == pytest.approx(savings, rel=1e-9, abs=1e-6)
        assert row.cumulative_net == pytest.approx(cumulative, rel=1e-9, abs=1e-6)
    assert [r[2] for r in expected][:16] == [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 5, 5, 6]  # the staircase
    assert g.months[11].savings > 0 > g.months[12].savings  # a fourth instance: buying stops paying a while
    first_paying = next(month for month, *_, savings, _ in expected if savings > 0)
    paid = next(month for month, *_, savings, cumulative in expected if cumulative >= 0 and savings > 0)
    assert g.first_paying_month == first_paying
    assert g.payback_month == paid
    before = expected[paid - 2][6]
    assert g.payback_months == pytest.approx(paid - 1 + -before / expected[paid - 1][5])
    for totals, months in ((g.totals_12, 12), (g.totals_24, 24)):
        assert totals.months == months
        assert totals.baseline_cost == pytest.approx(sum(r[3] for r in expected[:months]))
        assert totals.selfhost_cost == pytest.approx(sum(r[4] for r in expected[:months]))
        assert totals.net == pytest.approx(expected[months - 1][6])


def test_growth_changes_the_answer_a_flat_volume_gives():
    flat, growing = run(GROWING.replace("growth=20%/month", "horizon=24")), run(GROWING)
    assert flat.verdict == "RENT" and flat.monthly_savings < 0
    assert growing.verdict == "BUY"
    assert f"pays back in month {growing.growth.payback_month}" in growing.headline
    assert growing.monthly_savings == flat.monthly_savings  # today's figures are still today's


@pytest.mark.parametrize("volume", ["5e-324", "1e-300", "0.001"])
def test_a_vanishing_volume_that_grows_never_reaches_the_break_even_and_says_when_to_revisit(volume):
    # The months to reach the break-even were computed from break-even / volume, infinite for 5e-324.
    report = run(f"volume={volume} growth=1%/month")
    assert report.verdict == "RENT" and report.growth.payback_month is None
    assert "never starts paying within 120 months" in report.headline
    assert report.next_step.action


def test_without_growth_every_report_is_unchanged():
    golden = json.loads(GOLDEN.read_text())
    assert len(golden) >= 8
    for text, before in golden.items():
        after = analyze(parse(text), now=NOW).model_dump(mode="json")
        assert {k: after[k] for k in before} == before, text
        assert after["growth"] is None and after["template"] is None


def test_flat_growth_pays_back_exactly_when_the_flat_analysis_does():
    flat = run("volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 setup=1000 maint_h=0")
    path = run("volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 setup=1000 maint_h=0 growth=0/month")
    assert path.growth.payback_months == pytest.approx(flat.payback_months, rel=1e-12)
    assert path.growth.months[0].savings == flat.monthly_savings
    assert any("growth=0" in note for note in path.notes)


def test_a_buy_forced_by_privacy_does_not_claim_the_growth_path_pays_back():
    report = run("use=patient-message-triage growth=10%/month")
    assert report.verdict == "BUY" and report.growth.payback_months > report.horizon_months
    assert report.headline.startswith("Buy: Data may not leave the company")


def test_growth_with_no_volume_is_answered_with_a_note():
    report = run("volume=0 api=gpt-4o-mini growth=10%/month")
    assert report.growth is None
    assert any(note.startswith("`growth=` is not used") for note in report.notes)


def test_compounding_for_ten_years_stays_bounded_and_says_where():
    report = run("volume=1M api=gpt-4o growth=100%/month horizon=120")
    g = report.growth
    assert len(g.months) == 120 and g.capped_from_month is not None
    assert max(m.requests for m in g.months) == g.cap_requests_per_month
    assert max(m.instances for m in g.months) <= 10_000
    json.dumps(report.model_dump(mode="json"), allow_nan=False)  # no Infinity, no NaN
    assert any(f"held from month {g.capped_from_month}" in note for note in report.notes)


def test_a_shrinking_volume_never_reaches_zero_or_below():
    report = run("volume=5M api=gpt-4o growth=-50%/month horizon=120")
    assert all(m.requests > 0 for m in report.growth.months)
    json.dumps(report.model_dump(mode="json"), allow_nan=False)


def test_sensitivity_weighs_growth_only_when_it_is_given():
    assert "Growth rate" not in {c.name for c in run(GROWING.replace(" growth=20%/month", "")).sensitivity.cases}
    report = run(GROWING)
    case = next(c for c in report.sensitivity.cases if c.name == "Growth rate")
    assert (case.low_label, case.high_label) == ("10%/month", "30%/month")
    assert case.low_net < report.sensitivity.base_net < case.high_net
    assert report.sensitivity.base_net == pytest.approx(report.growth.totals_12.net)


def test_with_growth_each_what_if_is_judged_on_its_own_path():
    report = run(GROWING)
    verdicts = {w.name: w.verdict for w in report.sensitivity.what_ifs}
    assert verdicts["API prices -50%"] == "RENT"  # the path at half the API price never pays back in 24 months
    for w in report.sensitivity.what_ifs:
        paid = w.payback_months is not None and w.payback_months <= report.horizon_months
        assert w.verdict == ("BUY" if paid else "RENT"), w
    private = run(GROWING + " privacy=yes")  # the API ruled out: buying, whatever the cost
    assert {w.verdict for w in private.sensitivity.what_ifs} == {"BUY"}


@pytest.mark.parametrize(
    "text, monthly",
    [
        ("10%/month", 0.10),
        ("10% a month", 0.10),
        ("-5%/month", -0.05),
        ("0.02/month", 0.02),
        ("3x/year", 3 ** (1 / 12) - 1),
        ("50%/year", 1.5 ** (1 / 12) - 1),
        ("0", 0.0),
    ],
)
def test_growth_reads_rates_and_factors(text, monthly):
    scenario = parse(f"volume=1M growth={text}")
    assert scenario.growth == pytest.approx(monthly, rel=1e-12)
    if "month" in text:
        assert scenario.growth == monthly  # a monthly rate is taken as given, to the last digit
    assert parse(to_text(scenario)) == scenario


@pytest.mark.parametrize(
    "text, words",
    [
        ("150%/month", "at most 100%"),
        ("-60%/month", "at least -50%"),
        ("10%", "needs a period"),
        ("10/month", "ambiguous"),
        ("-2x/year", "above zero"),
        ("fast", "not a number"),
    ],
)
def test_bad_growth_names_the_key_and_shows_an_example(text, words):
    with pytest.raises(GrammarError) as caught:
        parse(f"volume=1M growth={text}")
    assert caught.value.key == "growth" and words in caught.value.problem
    parse(caught.value.example)


def test_the_horizon_with_growth_defaults_to_24_months_and_goes_up_to_120():
    report = run(GROWING)
    assert "growth=" in assumption(report, "horizon").note
    assert len(run(GROWING + " horizon=120").growth.months) == 120
    assert run(GROWING + " horizon=6").growth.totals_12 is None
    with pytest.raises(GrammarError) as caught:
        parse(GROWING + " horizon=121")
    assert caught.value.key == "horizon"


# ---------------------------------------------------------------------------------------------
# What is not cost


BASE = "volume=500k api=gpt-4o-mini gpu_price=$1/h capacity=20qps"


def factor(report, name):
    return next(f for f in report.factors if f.factor == name)


def test_the_factors_cover_the_six_considerations_in_every_format():
    report = run(BASE)
    assert [f.factor for f in report.factors] == [
        "Privacy",
        "Latency",
        "Control over model changes",
        "Vendor dependence",
        "Upkeep burden",
        "Quality on varied work",
    ]
    data = report.model_dump(mode="json")["factors"]
    assert all(set(row) >= {"factor", "api", "selfhost", "favours"} for row in data)
    text = render(report)
    assert "Beyond cost" in text and factor(report, "Upkeep burden").selfhost in text


@pytest.mark.parametrize(
    "name, before, after, column",
    [
        ("Privacy", "", "privacy=yes", "api"),
        ("Privacy", "privacy=no", "host_price=0.2", "selfhost"),
        ("Latency", "", "latency=2s", "both"),
        ("Latency", "latency=2s", "latency=20s", "both"),
        ("Control over model changes", "", "params=3B", "selfhost"),
        ("Control over model changes", "", "api=claude-3-5-haiku", "api"),
        ("Vendor dependence", "", "api=claude-3-5-haiku", "api"),
        ("Vendor dependence", "", "gpu_price=$2/h", "selfhost"),
        ("Upkeep burden", "maint_h=2", "maint_h=20", "selfhost"),
        ("Quality on varied work", "task=narrow", "task=varied", "both"),
        ("Quality on varied work", "task=narrow", "task=mixed", "both"),
        ("Quality on varied work", "task=narrow complexity=well-defined", "task=narrow complexity=novel", "selfhost"),
    ],
)
def test_each_row_changes_with_the_input_that_drives_it(name, before, after, column):
    def scenario(extra):
        given = dict(pair.split("=", 1) for pair in f"{BASE} {extra}".split())
        return " ".join(f"{key}={value}" for key, value in given.items())

    first, second = factor(run(scenario(before)), name), factor(run(scenario(after)), name)
    for side in ("api", "selfhost") if column == "both" else (column,):
        assert getattr(first, side) != getattr(second, side), side


def test_rows_follow_the_reports_own_checks_and_figures():
    private = run(BASE + " privacy=yes")
    assert factor(private, "Privacy").favours == "selfhost" and "ruled out" in factor(private, "Privacy").api
    assert factor(run(BASE), "Privacy").favours == "neither"
    varied = run(BASE + " task=varied")
    assert factor(varied, "Quality on varied work").favours == "api"
    mixed = factor(run(BASE + " task=mixed"), "Quality on varied work")
    assert mixed.favours == "api" and "split the work" in mixed.selfhost
    assert "8-10x re-work" in factor(run(BASE + " task=narrow complexity=novel"), "Quality on varied work").selfhost
    # A measured 5 s API against a 3.5 s bound, and a small quantised model on a fast GPU.
    bounded = run("volume=500k api=gpt-4o-mini gpu=h100 params=1B bits=4 out=400 latency=3.5s api_latency=5s")
    checks = {c.option: c for c in bounded.constraints if c.name == "latency"}
    assert not checks["api"].met and checks["selfhost"].met
    row = factor(bounded, "Latency")
    assert row.favours == "selfhost" and checks["api"].detail in row.api and checks["selfhost"].detail in row.selfhost
    upkeep = factor(run(BASE + " maint_h=7 rate=$150/h"), "Upkeep burden")
    assert "7 h a month ($1,050)" in upkeep.selfhost
    vendor = factor(run(BASE), "Vendor dependence")
    assert f"${run(BASE).api_monthly_cost:,.2f}" in vendor.api


def test_no_factors_when_no_api_is_compared():
    assert run("volume=10000 manual_h=3min manual_rate=$50/h server=$400").factors == []


# ---------------------------------------------------------------------------------------------
# The next step


def test_far_from_break_even_keep_renting_import_spend_and_revisit_at_a_volume():
    report = run("volume=20k api=gpt-4o-mini gpu_price=$1/h capacity=20qps")
    step = report.next_step
    assert report.verdict == "RENT" and step.situation == "far"
    assert step.revisit_requests_per_month == pytest.approx(report.breakeven_requests_per_month / 2)
    assert "breakeven spend import FILE.csv" in step.commands and "Slack: /breakeven spend add" in step.commands
    assert render(report).splitlines()[-4:] == ["Next step", f"  {step.action}", *(f"    {c}" for c in step.commands)]


def test_near_break_even_a_parallel_test_measured_side_by_side():
    near = run("volume=3M api=gpt-4o-mini in=1500 gpu_price=$1/h capacity=20qps")
    assert near.verdict == "RENT"
    assert near.breakeven_requests_per_month / 2 <= near.requests_per_month
    step = near.next_step
    assert step.situation == "near" and step.test_share == 0.05
    assert "150k requests a month" in step.action  # 5% of 3M
    assert any(c.startswith("breakeven measure") for c in step.commands)


def test_crossing_within_the_growth_horizon_counts_as_near():
    flat = run("volume=100k api=gpt-4o-mini in=1500 gpu_price=$1/h capacity=20qps")
    growing = run("volume=100k api=gpt-4o-mini in=1500 gpu_price=$1/h capacity=20qps growth=25%/month")
    assert flat.next_step.situation == "far"
    assert growing.verdict == "RENT" and growing.growth.first_paying_month <= 24
    assert growing.next_step.situation == "near"
    assert f"starts paying in month {growing.growth.first_paying_month}" in growing.next_step.action


def test_keep_renting_says_in_which_month_growth_reaches_the_revisit_volume():
    step = run("volume=100k api=gpt-4o-mini in=1500 gpu_price=$1/h capacity=20qps growth=15%/month").next_step
    assert step.situation == "far"
    month = 1 + math.ceil(math.log(step.revisit_requests_per_month / 100_000) / math.log(1.15))
    assert f"(month {month} at this growth)" in step.action


def test_when_buying_pays_the_audit_comes_first_with_runs_and_an_evaluation_set():
    report = run("volume=5M api=gpt-4o in=1500 gpu_price=$1/h capacity=20qps runs=2 eval_h=40")
    step = report.next_step
    assert report.verdict == "BUY" and step.situation == "buy"
    assert "hidden-cost audit" in step.action and "5-10 training runs, not 2" in step.action
    assert "40 h" in step.action
    assert step.commands[0].startswith('breakeven audit --analysis "volume=5000000/month')


def test_the_three_situations_give_three_different_steps():
    steps = {
        run(text).next_step.situation: run(text).next_step.action
        for text in (
            "volume=20k api=gpt-4o-mini gpu_price=$1/h capacity=20qps",
            "volume=3M api=gpt-4o-mini in=1500 gpu_price=$1/h capacity=20qps",
            "volume=5M api=gpt-4o in=1500 gpu_price=$1/h capacity=20qps",
        )
    }
    assert set(steps) == {"far", "near", "buy"} and len(set(steps.values())) == 3


def test_a_constraint_that_rules_out_self_hosting_keeps_renting_without_a_test():
    step = run("volume=3M api=gpt-4o-mini in=1500 gpu_price=$1/h capacity=20qps task=varied").next_step
    assert step.situation == "far" and "ruled out (task)" in step.action


# ---------------------------------------------------------------------------------------------
# The command line


def breakeven(*args):
    return subprocess.run([sys.executable, "-m", "breakeven", *args], capture_output=True, text=True, timeout=120)


def test_templates_lists_every_use_case_with_its_source():
    text, data = breakeven("templates"), breakeven("templates", "--json")
    assert text.returncode == 0 and data.returncode == 0
    listed = json.loads(data.stdout)
    assert [t["name"] for t in listed] == [t.name for t in catalogue()]
    for t in listed:
        assert t["name"] in text.stdout and t["sources"][0]["url"] in text.stdout


def test_keys_lists_use_and_growth_with_their_ranges():
    lines = {line.split()[0]: line for line in breakeven("keys").stdout.splitlines() if line.strip()}
    assert "use=support-chatbot" in lines["use"]
    assert "(-50% to 100% a month;" in lines["growth"]
    assert "(0 to 120; units" in lines["horizon"] and "a bare number is months" in lines["horizon"]


def test_analyze_with_a_template_and_growth_as_text_and_json():
    args = ("analyze", "use=support-chatbot", "volume=2M", "growth=10%/month")
    text, data = breakeven(*args), json.loads(breakeven(*args, "--json").stdout)
    assert data["template"]["name"] == "support-chatbot"
    assert len(data["growth"]["months"]) == 24 and data["growth"]["totals_24"]["months"] == 24
    assert {row["factor"] for row in data["factors"]} >= {"Privacy", "Upkeep burden"}
    out = text.stdout.rstrip().splitlines()
    assert out[1].startswith("Use case: support-chatbot")
    next_step = out.index("Next step")
    assert out[next_step + 1].strip() == data["next_step"]["action"] and next_step > out.index(
        "Growth over 24 months (month 1 is today)"
    )
