"""How many GPUs an instance splits the model over, where the tool chooses it (no gpus=, a fixed fleet priced by
the GPU). An instance of more GPUs keeps more memory for requests in flight, so at a high load it can carry the
traffic for less than the fewest GPUs that hold the model. The fleet is priced as the cheapest split at every
volume: the bill never falls when the requests grow longer, and it is never dearer than a split the user could
have typed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcore import analyze, parse


def run(text):
    return analyze(parse(text))


def selfhost(text):
    return run(text).selfhost_monthly_cost


def test_longer_answers_never_lower_the_selfhost_bill():
    """The defect this guards: at 20M requests a month on A10Gs, 31k output tokens needed 2-GPU instances and
    were billed less than 30k on 1-GPU ones, because only the fewest GPUs that hold the model were priced."""
    bills = [selfhost(f"volume=20M api=gpt-4o in=1500 out={out} gpu=a10g") for out in (200, 1000, 5000, 20000)]
    assert bills == sorted(bills), bills


@settings(max_examples=25, deadline=None)
@given(
    volume=st.sampled_from(["200k", "2M", "20M", "60M"]),
    out=st.integers(min_value=50, max_value=3000),
    more=st.integers(min_value=1, max_value=3000),
    gpu=st.sampled_from(["a10g", "l4", "l40s"]),
)
def test_more_output_tokens_never_lower_the_selfhost_bill(volume, out, more, gpu):
    base = f"volume={volume} api=gpt-4o in=800 gpu={gpu}"
    assert selfhost(f"{base} out={out + more}") >= selfhost(f"{base} out={out}") - 0.01


@pytest.mark.parametrize(
    "text",
    [
        "volume=20M api=gpt-4o in=1500 out=200 gpu=a10g",
        "volume=60M api=gpt-4o in=800 out=400 gpu=l4",
        "volume=5M api=gpt-4o in=4000 out=600 gpu=a10g ha=yes",
        "volume=2M api=gpt-4o in=1500 out=200 gpu=a10g",
    ],
)
def test_the_chosen_split_is_the_cheapest_fleet_that_carries_the_load(text):
    report = run(text)
    chosen = report.capacity.gpus_per_instance
    for gpus in (1, 2, 4, 8):
        try:
            typed = run(f"{text} gpus={gpus}")
        except Exception:  # noqa: BLE001 - a split that cannot hold the model is no rival
            continue
        if typed.capacity is None or typed.capacity.meets_latency is False:
            continue
        assert report.selfhost_monthly_cost <= typed.selfhost_monthly_cost + 0.01, (gpus, chosen)


def test_a_bigger_split_says_why_and_gpus_typed_is_kept():
    report = run("volume=20M api=gpt-4o in=1500 out=200 gpu=a10g")
    assert report.capacity.gpus_per_instance == 2
    said = " ".join(report.capacity.notes)
    assert "splits the model over 2 x" in said and "as 1-GPU instances" in said
    typed = run("volume=20M api=gpt-4o in=1500 out=200 gpu=a10g gpus=1")
    assert typed.capacity.gpus_per_instance == 1
    assert typed.selfhost_monthly_cost > report.selfhost_monthly_cost


def test_at_a_low_volume_the_fewest_gpus_are_priced():
    report = run("volume=200k api=gpt-4o in=1500 out=200 gpu=a10g")
    assert report.capacity.gpus_per_instance == 1
    assert report.instances == 1


HIGH = "volume=20M api=gpt-4o in=1500 out=200 gpu=a10g"  # carried for less by 2-GPU instances
H100 = "volume=200M gpu=h100 params=8B in=1500 out=200 api=gpt-4o latency=2.5s"  # 2 x H100 meet it for less


def test_the_fleet_is_the_cheapest_split_at_every_volume_and_the_report_agrees_with_itself():
    report = run(HIGH)
    model = report.cost_model
    assert (model.gpus_per_instance, model.fewest_gpus) == (2, 1)
    assert {shape.gpus for shape in model.alternatives} == {1, 4}  # 8 x A10G: never cheaper than 2 of 4 x
    # every figure of the report comes from the same fleet: instances, its servers line, the bill
    servers = next(line for line in report.selfhost_lines if line.name == "Servers")
    assert servers.amount == pytest.approx(report.instances * model.instance_monthly)
    assert report.selfhost_monthly_cost == pytest.approx(model.selfhost_monthly(report.requests_per_month))
    assert model.instances(report.requests_per_month) == report.instances
    # at each volume the bill is the least of the splits typed one by one
    for volume in ("100k", "300k", "1M", "3M", "6.5M", "9M", "12M", "20M", "35M", "60M", "100M", "400M"):
        shapes = HIGH.replace("volume=20M", f"volume={volume}")
        typed = [run(f"{shapes} gpus={gpus}").selfhost_monthly_cost for gpus in (1, 2, 4, 8)]
        assert run(shapes).selfhost_monthly_cost == pytest.approx(min(typed)), volume


def test_a_contract_price_from_your_price_sheet_prices_every_split():
    import datetime as dt

    from costcore.price_sheet import parse as parse_sheet

    sheet = parse_sheet(
        '[[gpu]]\ngpu = "a10g"\nmode = "reserved-1y"\nprice_per_hour = 0.40\neffective = 2026-09-01\n', "prices.toml"
    )
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    report = analyze(parse(HIGH), now=now, sheet=sheet)
    model = report.cost_model
    assert model.billing == "reserved-1y"
    for shape in model.shapes():
        assert shape.instance_monthly == pytest.approx(0.40 * 730 * shape.gpus)
    for gpus in (1, 2, 4, 8):
        typed = analyze(parse(f"{HIGH} gpus={gpus}"), now=now, sheet=sheet)
        assert report.selfhost_monthly_cost <= typed.selfhost_monthly_cost + 0.01


@pytest.mark.parametrize(
    "keys, why",
    [
        ("gpus=1", "gpus= fixes the split"),
        ("server=$900 capacity=5qps", "server= and capacity= are your whole instance"),
        ("server=$900", "server= is a bill for a whole instance"),
        ("capacity=5qps", "a measured capacity is of an instance as it is"),
        ("billing=serverless gpu_price=$1.20/h", "serverless scales by the instance"),
        ("autoscale=yes profile=business-hours", "an autoscaled fleet steps by the instance"),
        ("billing=owned purchase=$12,000", "purchase= is the price of your instance"),
        ("billing=owned watts=400", "watts= is your instance's power"),
    ],
)
def test_where_an_instance_is_yours_the_split_is_not_chosen(keys, why):
    split = run(f"{H100} {keys.split()[0]}" if keys.startswith("billing=owned") else HIGH)
    assert split.cost_model.fewest_gpus == 1 and split.capacity.gpus_per_instance == 2  # without the key
    report = run(f"{H100 if keys.startswith('billing=owned') else HIGH} {keys}")
    model = report.cost_model
    assert model.alternatives == [] and model.fewest_gpus is None, why
    if report.capacity is not None:
        assert report.capacity.gpus_per_instance == 1, why
        assert not any("splits the model" in note for note in report.capacity.notes), why


@pytest.mark.parametrize("billing", ["owned", "reserved-1y"])
def test_autoscale_ignored_for_hardware_billed_every_hour_leaves_a_fixed_fleet_whose_split_is_chosen(billing):
    report = run(f"{H100} billing={billing} autoscale=yes")
    assert any(note.startswith("`autoscale=` is not used") for note in report.notes)
    assert report.capacity.gpus_per_instance == 2 and report.cost_model.alternatives


def test_a_gpu_at_no_cost_keeps_the_fewest_gpus():
    report = run(f"{HIGH} gpu_price=$0/h")
    assert report.capacity.gpus_per_instance == 1
    assert report.selfhost_monthly_cost == pytest.approx(report.cost_model.ops_monthly)


def test_the_crossings_name_the_split_where_it_is_not_the_fewest():
    from costcore.text import render

    report = run("volume=500k api=gpt-4o-mini in=1500 out=200 gpu=l4 maint_h=0")
    split = [c for c in report.crossings if c.gpus_per_instance]
    assert split and all(c.gpus_per_instance == 2 for c in split)
    assert any(c.gpus_per_instance is None for c in report.crossings)
    text = render(report)
    for c in report.crossings:
        fleet = f"({c.instances} instance(s))" if c.gpus_per_instance is None else (
            f"({c.instances} instance(s) of 2 x NVIDIA L4)"
        )
        assert any(line.endswith(fleet) and "buying" in line for line in text.splitlines()), fleet


def test_the_growth_table_names_the_split_each_month_it_is_taken():
    from costcore.text import render

    report = run("use=support-chatbot volume=2M growth=10%/month")
    months = {m.month: m for m in report.growth.months}
    assert months[1].gpus_per_instance is None and months[15].gpus_per_instance == 2
    rows = {line.split()[0]: line for line in render(report).splitlines() if line[:7].strip().isdigit()}
    assert rows["1"].split()[2] == "1"
    assert rows["15"].split()[2] == f"{months[15].instances}x2"
    assert "inst. NxG: N instances of G x NVIDIA A10G each" in render(report)
    # each month's bill is the cheapest split's: never more than the fewest GPUs typed
    typed = run("use=support-chatbot volume=2M growth=10%/month gpus=1").growth.months
    assert all(m.selfhost_cost <= t.selfhost_cost + 0.01 for m, t in zip(report.growth.months, typed, strict=True))
    assert months[15].selfhost_cost < typed[14].selfhost_cost


def test_slack_and_the_factors_count_todays_instances_with_their_gpus():
    from bot.render import key_numbers

    report = run(HIGH)
    assert f"{report.instances} instance(s) of 2 x NVIDIA A10G" in key_numbers(report)[-1]
    vendor = next(f for f in report.factors if f.factor == "Vendor dependence")
    assert f"open weights on {report.instances} rented instance(s) of 2 x NVIDIA A10G" in vendor.selfhost
    low = run("volume=200k api=gpt-4o in=1500 out=200 gpu=a10g")
    assert key_numbers(low)[-1].endswith(", 1 instance(s)")
