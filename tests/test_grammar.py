"""The text grammar shared by /breakeven and the CLI: human numbers, rates, units, errors."""

import pytest

from costcore import GrammarError, Scenario, parse, to_text
from costcore.grammar import KEYS


@pytest.mark.parametrize(
    "text, field, value",
    [
        ("volume=10k", "requests_per_month", 10_000),
        ("volume=2.5M", "requests_per_month", 2_500_000),
        ("volume=1,200", "requests_per_month", 1_200),
        ("volume=50k/day", "requests_per_month", 50_000 * 365 / 12),
        ("volume=1000/h", "requests_per_month", 1000 * 730),
        ("volume=3B tokens/month", "tokens_per_month", 3e9),
        ("tokens=50M/day", "tokens_per_month", 50e6 * 365 / 12),
        ("tokens=10M tokens/week", "tokens_per_month", 10e6 * 365 / 12 / 7),
        ("in=1,500 tokens", "in_tokens", 1500),
        ("prompt_cut=80%", "prompt_cut", 0.8),
        ("prompt_cut=0.8", "prompt_cut", 0.8),
        ("api_price=2.5/10", "api_price_in", 2.5),
        ("api_price=$2.50/$10.00 per 1M", "api_price_out", 10.0),
        ("api_price=0.4", "api_price_blended", 0.4),
        ("api_per_1k=$0.20", "api_per_1k", 0.2),
        ("gpu_price=$1.20/h", "gpu_price", 1.2),
        ("gpu_price=$876/month", "gpu_price", 876 / 730),
        ("server=$1,200", "server_monthly", 1200),
        ("server=$40/day", "server_monthly", 40 * 365 / 12),
        ("host_price=$0.20/1M", "host_price", 0.2),
        ("capacity=30qps", "capacity_qps", 30),
        ("capacity=30 req/s", "capacity_qps", 30),
        ("capacity=3,000tok/s", "capacity_tok_s", 3000),
        ("capacity=3000 tokens/s", "capacity_tok_s", 3000),
        ("setup=$12k", "setup", 12_000),
        ("manual_h=3min", "manual_h", 0.05),
        ("manual_h=0.5h", "manual_h", 0.5),
        ("rate=$75/h", "rate", 75),
        ("maint_h=6", "maint_h", 6),
        ("horizon=2 years", "horizon", 24),
        ("latency=150ms", "latency_ms", 150),
        ("latency=0.2s", "latency_ms", 200),
        ("privacy=yes", "privacy", True),
        ("uptime=99.9%", "ha", True),
        ("uptime=99%", "ha", False),
        ("complexity=well-defined", "complexity", "well-defined"),
        ("task=reasoning", "task", "reasoning"),
        ("params=8B", "params_b", 8),
        ("bits=int8", "bits", 8),
        ("iter=3x", "iter", 3),
        ("fail_api=40%", "fail_api", 0.4),
    ],
)
def test_human_values(text, field, value):
    assert getattr(parse(text), field) == pytest.approx(value)


def test_values_with_spaces_and_slack_mangling():
    # Slack escapes & < >, turns quotes smart, and people put spaces around '='.
    scenario = parse("volume = 2M tokens/day  in=1,500, out=200 api=\u201cgpt-4o\u201d")
    assert scenario.tokens_per_month == pytest.approx(2e6 * 365 / 12)
    assert scenario.in_tokens == 1500
    assert scenario.api_model == "gpt-4o"


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("volme=2M", "volme", "Did you mean `volume`"),
        ("apii=gpt-4o", "apii", "`api`"),
        ("volume=lots", "volume", "not a number"),
        ("volume=-5", "volume", "negative"),
        ("volume=2M/fortnight", "volume", "unknown period"),
        ("prompt_cut=120%", "prompt_cut", "over 100%"),
        ("prompt_cut=80", "prompt_cut", "ambiguous"),
        ("api=gpt4o", "api", "Did you mean gpt-4o"),
        ("gpu=a10x", "gpu", "did you mean a10g"),
        ("complexity=easy", "complexity", "not one of"),
        ("capacity=30 furlongs", "capacity", "unknown capacity unit"),
        ("in=500 in=600", "in", "given twice"),
        ("volume=1M tokens=5M", "tokens", "conflicts with `volume`"),
        ("api=gpt-4o api_price=2/8", "api_price", "conflicts with `api`"),
        ("gpu=a10g host_price=0.2", "host_price", "conflicts with `gpu`"),
        ("gpus=1.5", "gpus", "whole number"),
        ("runs=0", "runs", "at least 1"),
        ("setup=$5k/month", "setup", "one-off"),
        ("2M requests", None, "key=value"),
    ],
)
def test_errors_name_the_key_say_what_and_show_an_example(text, key, words):
    with pytest.raises(GrammarError) as caught:
        parse(text)
    error = caught.value
    assert error.key == key
    assert words in str(error)
    assert "Example that works" in str(error)
    # The example given must itself parse.
    parse(error.example)


def test_every_key_example_parses():
    for key in KEYS.values():
        scenario = parse(key.example)
        assert any(getattr(scenario, field) is not None for field in key.fields), key.name


@pytest.mark.parametrize(
    "text",
    [
        "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g gpus=2 capacity=3000tok/s peak=3x ha=yes",
        "tokens=50M/day api_price=2.5/10 host_price=0.2 prompt_cut=75% cached=20%",
        "volume=10000 manual_h=3min manual_rate=50 server=400 maint_h=4 rate=50 data_h=80 eval_h=40 infra_h=20",
        "api_per_1k=0.2 setup=1000 train=20 runs=5 complexity=medium horizon=18 fail_api=40% fail_ft=3% fail_cost=2",
        "api_price=0.4 gpu=h100 gpu_price=2.5/h params=70B bits=8 privacy=yes latency=150ms task=mixed iter=2.5x",
    ],
)
def test_to_text_round_trips(text):
    scenario = parse(text)
    assert parse(to_text(scenario)) == scenario


def test_schema_lists_every_input():
    schema = Scenario.model_json_schema()
    assert {"requests_per_month", "api_model", "gpu", "setup", "fail_cost", "privacy"} <= set(schema["properties"])
