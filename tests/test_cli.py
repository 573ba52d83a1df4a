"""The `breakeven` command as a user runs it: a real process, its output and exit status."""

import json
import subprocess
import sys

import pytest


def breakeven(*args):
    return subprocess.run([sys.executable, "-m", "breakeven", *args], capture_output=True, text=True, timeout=120)


def test_analyze_prints_the_verdict_first_then_numbers_then_assumptions():
    result = breakeven("analyze", "volume=2M/month", "in=1500", "out=200", "api=gpt-4o", "gpu=a10g")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The text says the same figure as the JSON: one computation behind both.
    data = json.loads(
        breakeven("analyze", "volume=2M/month", "in=1500", "out=200", "api=gpt-4o", "gpu=a10g", "--json").stdout
    )
    assert out.splitlines()[0].startswith(f"Buy: self-hosting saves ${data['monthly_savings']:,.0f} a month")
    assert out.index("Numbers") < out.index("Assumptions")
    assert "genai-prices" in out and "data as of 20" in out
    assert "AWS (g5.xlarge)" in out


def test_json_has_the_stable_keys():
    result = breakeven("analyze", "volume=2M/month", "api=gpt-4o", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "verdict",
        "api_monthly_cost",
        "selfhost_monthly_cost",
        "api_cost_per_request",
        "selfhost_cost_per_request",
        "one_time_cost",
        "monthly_savings",
        "breakeven_requests_per_month",
        "breakeven_tokens_per_month",
        "payback_months",
        "first_year_roi",
        "crossings",
        "assumptions",
    ):
        assert key in data, key
    assert data["verdict"] in ("RENT", "BUY", "HYBRID")


def test_never_is_null_in_json():
    data = json.loads(breakeven("analyze", "volume=1k", "api_per_1k=0.01", "host_price=5", "--json").stdout)
    assert data["breakeven_requests_per_month"] is None
    assert data["breakeven_tokens_per_month"] is None
    assert data["payback_months"] is None


@pytest.mark.parametrize(
    "args, words",
    [
        (["analyze", "volme=2M"], "Did you mean `volume`"),
        (["analyze", "volume=2M", "api=gpt-9000"], "unknown API model"),
        (["analyze", "volume=two"], "not a number"),
        (["analyze", "volume=2M", "--chart", "/nonexistent/dir/x.png"], "cannot write"),
        (["analyze", "volume=2M", "--chart", "x.png", "--size", "big"], "WIDTHxHEIGHT"),
        (["analyze", "volume=2M", "--chart", "x.png", "--size", "100x100"], "400-2400 pixels wide and 225-1500 high"),
        (["audit", "--chart", "x.png", "--size", "2401x800"], "not 2401x800; e.g. 800x500"),
        (["analyze", "volume=2M", "--chart-type", "tornado"], "--chart-type shapes a chart: add --chart FILE"),
        (["audit", "--size", "640x400"], "--size shapes a chart: add --chart FILE"),
        (["prices", "no-such-model-anywhere"], "no token-priced model"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_the_message_on_stderr(args, words):
    result = breakeven(*args)
    assert result.returncode == 2
    assert words in result.stderr
    assert result.stdout == ""


def test_schema_names_exactly_the_keys_users_type():
    from costcore.grammar import KEYS

    schema = json.loads(breakeven("schema").stdout)
    assert set(schema["properties"]) == set(KEYS)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["volume"]["x-range"].startswith("0 to 1T")
    # Every example in the schema parses as the grammar reads it.
    from costcore import parse

    for key, prop in schema["properties"].items():
        parse(f"{key}={prop['examples'][0]}", check_names=False)


def test_keys_lists_every_key_with_an_example():
    from costcore.grammar import KEYS

    result = breakeven("keys")
    assert result.returncode == 0
    listed = {
        line.split()[0] for line in result.stdout.splitlines()[1:] if line and not line.startswith(("Also", "Numbers"))
    }
    assert listed == set(KEYS)
    assert "rate=$100/h" in result.stdout and "(0 to 1T" in result.stdout


def test_prices_and_gpus_list_the_catalogues():
    prices = breakeven("prices", "claude")
    assert prices.returncode == 0
    assert "anthropic:claude-3-5-haiku" in prices.stdout
    assert "genai-prices" in prices.stdout
    gpus = breakeven("gpus")
    assert gpus.returncode == 0
    for name in ("t4", "l4", "a10g", "rtx4090", "a100-40gb", "a100-80gb", "h100", "h200"):
        assert name in gpus.stdout


def test_chart_is_written_as_a_png(tmp_path):
    target = tmp_path / "chart.png"
    result = breakeven("analyze", "volume=2M/month", "api=gpt-4o", "--chart", str(target), "--size", "640x400")
    assert result.returncode == 0, result.stderr
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 640
    assert int.from_bytes(data[20:24], "big") == 400
    assert str(target) in result.stdout
