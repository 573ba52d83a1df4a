"""Prices as they are paid: every GPU price in its own billing mode, the load over the week, owned
hardware and the API's batch and tier prices (docs/economics.md, "Prices as they are paid")."""

import datetime as dt
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakeven.cli import main
from costcore import GrammarError, analyze, economics, parse, prices
from costcore.buy import PROFILES
from costcore.format import money
from costcore.prices import (
    CATALOGUE_MAX_AGE_MONTHS,
    MODE_WORDS,
    MODES,
    gpu_quote,
    list_gpus,
    list_prices,
    modes_priced,
    price_age_months,
)
from costcore.scenario import CostModel

cent = pytest.approx
HOURS = 730


def run(text: str):
    return analyze(parse(text))


# --- the catalogue ---------------------------------------------------------------------------------


def test_every_catalogue_price_has_a_mode_a_source_and_a_date_within_twelve_months():
    today = dt.date.today()
    gpus = {g.id for g in list_gpus()}
    assert len(list_prices()) >= 30
    for p in list_prices():
        assert p.gpu in gpus and p.mode in MODES, p
        assert "https://" in p.source and p.provider, p
        assert re.fullmatch(r"20\d\d-\d\d(-\d\d)?", p.date), p
        assert 0 <= price_age_months(p.date, today) <= CATALOGUE_MAX_AGE_MONTHS, p
        if p.mode == "owned":
            assert p.price_per_hour is None and p.purchase_price > 0, p
        else:
            assert p.price_per_hour > 0 and p.purchase_price is None, p


@pytest.mark.parametrize("gpu", [g.id for g in list_gpus()])
@pytest.mark.parametrize("mode", [m for m in MODES if m != "owned"])
def test_no_catalogue_price_is_billed_in_another_mode(gpu, mode):
    text = f"volume=1M gpu={gpu} billing={mode} capacity=10qps maint_h=0"
    quote = gpu_quote(gpu, mode)
    if quote is None:  # no price quoted in this mode: refused, never borrowed from another mode
        with pytest.raises(GrammarError, match=f"no {mode} price"):
            run(text)
        return
    report = run(text)
    assert all(e.mode == mode for e in quote.entries)
    assert report.billing == mode
    hourly = report.cost_model.instance_monthly / HOURS if mode != "serverless" else (
        report.cost_model.serverless.price_per_instance_s * 3600
    )
    assert hourly == cent(quote.price * report.capacity.gpus_per_instance)
    priced = next(a for a in report.assumptions if a.key == "gpu_price")
    assert quote.source == priced.source and MODE_WORDS[mode] in priced.value


def test_the_median_of_three_providers_is_used_and_the_range_shown():
    quote = gpu_quote("h100", "always-on")
    assert len(quote.entries) >= 3 and {e.provider.split()[0] for e in quote.entries} >= {"Lambda", "RunPod"}
    prices = sorted(e.price_per_hour for e in quote.entries)
    assert quote.price == prices[len(prices) // 2] and (quote.low, quote.high) == (prices[0], prices[-1])
    assert "median of 3 providers" in quote.source and "range" in quote.source


def test_the_l40s_serverless_price_is_kept_as_serverless():
    # The example: $1.95/h is a per-second rate; dedicated L40S instances rent for far less.
    assert gpu_quote("l40s", "serverless").low == cent(1.9512)
    assert gpu_quote("l40s", "always-on").price < 1.5
    assert all(e.provider != "Modal" for e in gpu_quote("l40s", "always-on").entries)


def test_gpus_json_lists_every_entry(capsys):
    assert main(["gpus", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert len(entries) == len(list_prices())
    for e in entries:
        assert {"gpu", "name", "mode", "price_per_hour", "purchase_price", "provider", "source", "date"} <= e.keys()
        assert (e["price_per_hour"] is None) == (e["mode"] == "owned")


def test_gpus_shows_the_modes_side_by_side(capsys):
    assert main(["gpus"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert all(word in header for word in ("always-on", "spot", "serverless", "owned"))
    h100 = next(line for line in out.splitlines() if line.startswith("h100 "))
    assert "3.780" in h100 and "30,000" in h100
    # a median of fewer than three quotes says how many it is of
    for g in list_gpus():
        row = next(line for line in out.splitlines() if line.startswith(f"{g.id} "))
        for mode in MODES:
            quote = gpu_quote(g.id, mode)
            if quote is not None and len(quote.entries) < 3:
                assert f"({len(quote.entries)})" in row, (g.id, mode, row)
    assert "(n): only n quotes were found" in out
    # a single quote is named as what it is, never dressed up as a median
    singles = [q for g in list_gpus() for m in MODES if (q := gpu_quote(g.id, m)) is not None and len(q.entries) == 1]
    assert singles
    for quote in singles:
        assert quote.source.startswith(f"one quote, no median: {quote.entries[0].provider}"), quote.source


# --- variants ----------------------------------------------------------------------------------------


def test_gpu_h100_names_the_variant_it_means():
    report = run("volume=1M gpu=h100")
    named = next(a for a in report.assumptions if a.key == "gpu")
    assert "SXM" in named.value and "h100-pcie" in named.note and "datasheet" in named.source
    pcie, sxm = run("volume=20M gpu=h100-pcie"), run("volume=20M gpu=h100")
    assert pcie.capacity.decode_tok_s_per_stream < sxm.capacity.decode_tok_s_per_stream  # 2.0 vs 3.35 TB/s
    assert {g.id for g in list_gpus()} >= {"h100", "h100-pcie", "h100-nvl", "a100-40gb", "a100-40gb-pcie",
                                          "a100-80gb", "a100-80gb-pcie"}  # fmt: skip


# --- worked examples of docs/economics.md, to the cent -----------------------------------------------


def test_always_on():
    r = run("volume=1M gpu=l40s gpu_price=$1.27/h capacity=10qps maint_h=0")
    assert r.selfhost_monthly_cost == cent(927.10, abs=0.005) and r.instance_hours_per_month == HOURS


def test_reserved_one_year_and_the_commitment_it_leaves():
    r = run("volume=1M gpu=h100 billing=reserved-1y gpu_price=$2.35/h capacity=10qps maint_h=0")
    assert r.selfhost_monthly_cost == cent(1715.50, abs=0.005)
    assert any("owed for its whole term, 12 months" in n and "$20,586" in n for n in r.notes)
    assert "reserved 1 year" in r.options[1].label


def test_spot_keeps_a_spare_for_interruptions():
    r = run("volume=1M gpu=h100 billing=spot gpu_price=$1.52/h capacity=10qps maint_h=0")
    assert r.selfhost_monthly_cost == cent(2219.20, abs=0.005) and r.instances == 2
    assert any("interruptions" in n for n in r.notes)


def test_serverless_with_a_business_hours_profile():
    text = "volume=2M gpu=l40s billing=serverless gpu_price=$1.9512/h capacity=2qps profile=business-hours maint_h=0"
    r = run(f"{text} cold_start=30s")
    # 2M requests at 2 a second busy 277.78 instance-hours; 21.73 morning starts a month of 30 s each
    assert r.instance_hours_per_month == cent(2e6 / 2 / 3600)
    assert r.selfhost_monthly_cost == cent(542.35, abs=0.005)
    assert run(text).selfhost_monthly_cost == cent(542.00, abs=0.005)


def test_owned_with_depreciation_and_power():
    r = run("volume=1M gpu=h100 billing=owned purchase=$30,000 watts=700W colo=$200/month capacity=10qps maint_h=0")
    assert r.selfhost_monthly_cost == cent(1119.18, abs=0.005)
    servers = r.selfhost_lines[0].detail
    assert "$833.33 depreciation" in servers and "$85.85 power" in servers and "$200.00 colocation" in servers
    assert r.cash_up_front == 30_000  # shown beside the payback, and not counted again as a one-time cost:
    assert r.one_time_cost == run("volume=1M gpu=h100 capacity=10qps maint_h=0").one_time_cost
    privacy = next(f for f in r.factors if f.factor == "Privacy").selfhost
    assert privacy.endswith("GPUs you own")  # not "you rent": the hardware is bought
    vendor = next(f for f in r.factors if f.factor == "Vendor dependence").selfhost
    assert "1 owned NVIDIA H100 SXM 80 GB instance(s), $1,119 a month owned" in vendor


def test_the_vendor_factor_gives_the_fleet_bill_of_its_mode_not_a_month_of_every_hour():
    r = run("volume=300k api=gpt-4o gpu=l40s gpu_price=$1.9512/h billing=serverless profile=business-hours")
    vendor = next(f for f in r.factors if f.factor == "Vendor dependence").selfhost
    assert f"{money(r.selfhost_lines[0].amount)} a month serverless" in vendor


def test_batch_api_halves_the_bill_where_the_discount_is_half():
    full = run("volume=10000 in=500 out=200 api=gpt-4o")
    batch = run("volume=10000 in=500 out=200 api=gpt-4o batch=yes")
    assert full.api_monthly_cost == cent(32.50, abs=0.005) and batch.api_monthly_cost == cent(16.25, abs=0.005)
    assert "batch price, 50% off" in batch.options[0].label
    source = next(a for a in batch.assumptions if a.key == "batch").source
    assert "2026-10-14" in source and "openai" in source
    part = run("volume=10000 in=500 out=200 api=gpt-4o batch=60%")
    assert part.api_monthly_cost == cent(32.50 * 0.4 + 16.25 * 0.6, abs=0.005)


def test_a_latency_bound_does_not_apply_to_batched_work():
    interactive = run("volume=1M api=gpt-4o latency=300ms")
    batched = run("volume=1M api=gpt-4o latency=300ms batch=yes")
    assert any(c.option == "api" and not c.met for c in interactive.constraints)
    assert not any(c.option == "api" for c in batched.constraints)
    assert any("does not apply" in n for n in batched.notes)


def test_flex_and_priority_tiers_where_the_catalogue_has_them():
    standard = run("volume=1M api=gpt-5")
    assert run("volume=1M api=gpt-5 tier=flex").api_monthly_cost == cent(standard.api_monthly_cost / 2)
    assert run("volume=1M api=gpt-5 tier=priority").api_monthly_cost > standard.api_monthly_cost
    assert any("`tier=`" in n for n in run("volume=1M api=claude-3-5-haiku tier=flex").notes)


def test_cache_writes_are_priced_where_the_provider_charges_them():
    reads = run("volume=1000 api=claude-3-5-haiku in=1000 out=0 cached=50%")
    writes = run("volume=1000 api=claude-3-5-haiku in=1000 out=0 cached=50% cache_write=10%")
    # Anthropic writes its 5-minute cache at 1.25x the input price ($1 against $0.80 per 1M)
    assert writes.api_monthly_cost - reads.api_monthly_cost == cent(1000 * 100 * (1.00 - 0.80) / 1e6)
    assert any("cache_write=" in n for n in reads.notes)
    assert any("`cache_write=`" in n for n in run("volume=1000 api=gpt-4o cached=50% cache_write=10%").notes)


# --- the load over the week --------------------------------------------------------------------------


def test_business_hours_autoscaled_save_exactly_the_hours_they_do_not_run():
    base = "volume=20M gpu=l40s gpu_price=$1.27/h capacity=10qps maint_h=0"
    flat, fixed = run(base), run(f"{base} profile=business-hours")
    scaled = run(f"{base} profile=business-hours autoscale=yes")
    # the same volume in 50 busy hours a week needs 3 instances at its peak, where 24x7 needs 1
    assert (flat.instances, fixed.instances, scaled.instances) == (1, 3, 3)
    assert fixed.selfhost_monthly_cost >= flat.selfhost_monthly_cost
    quiet = HOURS - PROFILES["business-hours"].busy_hours_a_week * HOURS / 168
    assert fixed.selfhost_monthly_cost - scaled.selfhost_monthly_cost == cent(quiet * 2 * 1.27)
    assert scaled.selfhost_monthly_cost == cent(1478.95, abs=0.005)
    assert fixed.api_monthly_cost == flat.api_monthly_cost == scaled.api_monthly_cost  # the API sees one volume
    assert any("sized for that peak" in a.note for a in fixed.assumptions if a.key == "profile")
    scale_to_zero = run(f"{base} profile=business-hours autoscale=yes min_instances=0")
    assert scale_to_zero.selfhost_monthly_cost == cent(scaled.selfhost_monthly_cost - quiet * 1.27)


def test_serverless_business_hours_costs_less_than_always_on_by_the_quiet_hours():
    base = "volume=200k gpu=l40s gpu_price=$1.27/h capacity=10qps maint_h=0"
    always = run(base)
    serverless = run(f"{base} billing=serverless profile=business-hours")
    assert serverless.selfhost_monthly_cost < always.selfhost_monthly_cost
    assert serverless.instance_hours_per_month <= PROFILES["business-hours"].busy_hours_a_week * HOURS / 168 + 1e-9


def test_crossings_of_an_autoscaled_fleet_are_where_the_bills_meet():
    r = run("volume=20M api_per_1k=$0.20 gpu=l40s gpu_price=$1.27/h capacity=10qps profile=business-hours "
            "autoscale=yes maint_h=0")  # fmt: skip
    model = r.cost_model
    assert r.crossings
    for c in r.crossings:
        assert model.api_monthly(c.requests_per_month) == cent(model.selfhost_monthly(c.requests_per_month), rel=1e-6)
    assert r.breakeven_requests_per_month == r.crossings[0].requests_per_month


# --- the sensitivity ---------------------------------------------------------------------------------


def test_the_sensitivity_names_the_cheapest_other_billing_mode_and_each_break_even():
    r = run("volume=3M api=gpt-4o gpu=h100")
    billed = next(w for w in r.sensitivity.what_ifs if w.name.startswith("Billed "))
    # owned ($1,119 a month at the catalogue's $30,000) beats reserved ($2.35/h), spot (two at $1.52/h) and serverless
    assert billed.name == "Billed owned" and "owned" in billed.detail
    assert billed.monthly_savings > r.monthly_savings
    assert all(w.breakeven_requests_per_month is None or w.breakeven_requests_per_month > 0
               for w in r.sensitivity.what_ifs)  # fmt: skip
    assert r.sensitivity.what_ifs[0].breakeven_requests_per_month > r.breakeven_requests_per_month  # API -50%


def test_the_sensitivity_gives_the_failure_rate_where_buying_stops_paying():
    r = run("volume=3M api=gpt-4o gpu=h100 fail_api=5% fail_ft=3% fail_cost=$0.50")
    assert r.sensitivity.failure_threshold == r.failure.breakeven_fail_ft
    assert run("volume=3M api=gpt-4o gpu=h100").sensitivity.failure_threshold is None


def test_the_billing_row_takes_the_cheapest_mode_that_meets_the_latency_bound():
    base = "volume=10k api=gpt-4o gpu=l40s profile=business-hours"
    free = next(w for w in run(base).sensitivity.what_ifs if w.name.startswith("Billed "))
    assert free.name == "Billed serverless"  # a quiet office-hours load: per second of use is cheapest
    bounded = run(f"{base} latency=10s")
    row = next(w for w in bounded.sensitivity.what_ifs if w.name.startswith("Billed "))
    # scaled to zero, a request may wait for a cold start: serverless breaks latency=10s, so the row is
    # the cheapest mode that meets it, and says what was left out and why
    assert row.name == "Billed spot" and "serverless is cheaper but its cold starts" in row.detail
    assert any(n.startswith("billing=serverless would self-host for") for n in bounded.notes)
    warm = run(f"{base} latency=30s cold_start=5s")  # a cold start that fits the bound
    assert next(w for w in warm.sensitivity.what_ifs if w.name.startswith("Billed ")).name == "Billed serverless"


def test_infrastructure_x2_doubles_a_serverless_bill_too():
    r = run("volume=200k api=gpt-4o gpu=l40s billing=serverless profile=business-hours maint_h=0")
    doubled = next(w for w in r.sensitivity.what_ifs if w.name == "Infrastructure x2")
    assert r.monthly_savings - doubled.monthly_savings == cent(r.selfhost_monthly_cost)


def test_the_failure_threshold_when_failure_rates_are_asked_without_a_price():
    r = run("volume=3M api=gpt-4o gpu=h100 fail_api=5% fail_ft=3%")
    retry = r.api_monthly_cost / 3e6  # one API request redone a failure
    limit = (3e6 * retry * 1.05 - r.selfhost_monthly_cost) / (3e6 * retry)
    assert r.sensitivity.failure_threshold == cent(limit)
    assert "one API request to redo it" in r.sensitivity.failure_threshold_basis
    priced = run("volume=3M api=gpt-4o gpu=h100 fail_api=5% fail_ft=3% fail_cost=$0.50").sensitivity
    assert priced.failure_threshold_basis == "$0.50 a failure"


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.floats(1e-6, 1.0),  # API $ a request
    st.floats(0, 1e-3),  # self-host $ a request
    st.floats(1, 5e4),  # $ an instance a month
    st.floats(1, 1e8),  # requests an instance carries a month
    st.floats(0, 2e4),  # operations $ a month
    st.booleans(),
    st.floats(1, 1e9),  # the volume
)
def test_the_what_ifs_break_even_is_the_first_crossing(api, var, monthly, carries, ops, ha, volume):
    model = CostModel(
        api_cost_per_request=api,
        selfhost_variable_per_request=var,
        instance_monthly=monthly,
        requests_per_instance=carries,
        ha=ha,
        ops_monthly=ops,
        tokens_per_request=1000,
    )
    expected = economics.breakeven(economics.all_crossings(model, volume))
    got = economics.first_breakeven(model, volume)
    assert (got is None) == (expected is None)
    if got is not None:
        assert got == cent(expected, rel=1e-12)


# --- a GPU priced in other modes only ------------------------------------------------------------------


@pytest.fixture
def always_on_withdrawn(monkeypatch):
    """The catalogue without one GPU's always-on quotes. Every GPU has an always-on price today, and the refusal for
    one that has none (a variant priced later, or only serverless) must still name the modes it has."""

    def withdraw(gpu: str) -> None:
        kept = tuple(p for p in list_prices() if not (p.gpu == gpu and p.mode == "always-on"))
        monkeypatch.setattr(prices, "list_prices", lambda: kept)
        gpu_quote.cache_clear()
        modes_priced.cache_clear()
        assert gpu_quote(gpu, "always-on") is None

    yield withdraw
    gpu_quote.cache_clear()
    modes_priced.cache_clear()


# h100 keeps its reserved, spot, serverless and owned quotes; a10g is left with no price at all
@pytest.mark.parametrize("gpu", ["h100", "a10g"])
def test_a_gpu_without_an_always_on_price_names_the_modes_it_has_and_an_example_that_works(gpu, always_on_withdrawn):
    always_on_withdrawn(gpu)
    with pytest.raises(GrammarError) as caught:
        run(f"volume=1M gpu={gpu}")
    error = caught.value
    assert error.key == "gpu" and "no always-on price" in error.problem and "gpu_price=" in error.problem
    for mode in MODES:
        if mode != "owned" and gpu_quote(gpu, mode) is not None:
            assert f"{mode} ${gpu_quote(gpu, mode).price:,.4g}/h" in error.problem
    assert run(f"volume=1M {error.example}").billing in MODES  # the example offered analyses
    assert run(f"volume=1M gpu={gpu} gpu_price=$0.80/h").selfhost_monthly_cost > 0


def test_every_gpu_has_a_menu_label_with_its_price_and_mode():
    for gpu in list_gpus():
        label = gpu.price_label
        if not modes_priced(gpu.id):  # a variant the catalogue has specs for but no price
            assert label == "no catalogue price"
            continue
        assert label.startswith("$"), (gpu.id, label)
        if gpu.price_per_hour is None:
            assert any(mode in label for mode in MODES), (gpu.id, label)


def test_a_serverless_cold_start_counts_against_the_latency_bound_unless_an_instance_is_kept_warm():
    base = "volume=300k api=gpt-4o gpu=l40s billing=serverless profile=business-hours cold_start=30s latency=20s"
    cold = next(c for c in run(base).constraints if c.option == "selfhost")
    warm = next(c for c in run(f"{base} min_instances=1").constraints if c.option == "selfhost")
    assert not cold.met and warm.met
    assert any("waits for its 30 s cold start" in n for n in run(base).notes)
    unknown = run(base.replace(" cold_start=30s", ""))
    assert any("not counted against latency=" in n for n in unknown.notes)


# --- every new key moves the report or a note says why, both ways -------------------------------------

TWO_VALUES = {
    "billing": ("always-on", "spot"),
    "profile": ("24x7", "business-hours"),
    "active": ("24h/day", "10h/day"),
    "autoscale": ("no", "yes"),
    "min_instances": ("0", "2"),
    "cold_start": ("0ms", "30s"),
    "purchase": ("1000", "30000"),
    "depreciation": ("36months", "48months"),
    "watts": ("100W", "700W"),
    "pue": ("1.2", "1.4"),
    "power_price": ("0.1/kWh", "0.2/kWh"),
    "colo": ("0", "200"),
    "residual": ("0%", "20%"),
    "batch": ("0%", "50%"),
    "tier": ("standard", "flex"),
    "cache_write": ("0%", "10%"),
}
BASES = ["", "gpu=h100", "gpu=l40s billing=serverless", "gpu=h100 billing=owned", "server=800 capacity=10qps",
         "host_price=0.2", "api=claude-3-5-haiku cached=50%", "api_price=2.5/10",
         "manual_h=0.1 server=400"]  # fmt: skip


def _said(report, key: str) -> bool:
    return any(f"`{key}=" in n or f" {key}=" in n or n.startswith(f"{key}=") for n in report.notes)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("key", sorted(TWO_VALUES))
def test_each_new_key_moves_the_report_or_a_note_says_why_whichever_value_comes_second(base, key):
    from .test_properties import _outputs

    first, second = TWO_VALUES[key]
    try:
        a, b = run(f"{base} {key}={first}"), run(f"{base} {key}={second}")
    except GrammarError:
        return  # a mode the GPU has no price in: refused, never borrowed (tested above)
    if _outputs(a) == _outputs(b):
        assert _said(a, key) and _said(b, key), (base, key)
