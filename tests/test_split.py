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
