"""The cost core's behaviour beyond the worked examples: prices, capacity, verdicts, sensitivity."""

import socket

import pytest

from costcore import GrammarError, analyze, parse
from costcore.prices import PriceError, find_gpu, list_api_models, quote_model


def run(text):
    return analyze(parse(text))


def test_prices_work_with_the_network_cut(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    report = run("volume=1M api=claude-3-5-haiku")
    assert report.api_price.provider == "anthropic"
    assert report.api_price.price_in > 0
    assert "genai-prices" in report.api_price.source


def test_model_names_resolve_case_insensitively_and_by_provider():
    assert quote_model("GPT-4o")[0].model == "gpt-4o"
    assert quote_model("openai:gpt-4o-mini")[0].price_out == pytest.approx(0.6)
    assert quote_model("Claude 3.5 Sonnet")[0].provider == "anthropic"
    with pytest.raises(PriceError) as caught:
        quote_model("gtp-4o")
    assert "gpt-4o" in caught.value.suggestions


def test_every_shown_price_has_a_source_and_a_date():
    report = run("volume=1M api=gpt-4o gpu=l40s")
    priced = {a.key: a for a in report.assumptions if a.key in ("api", "gpu_price")}
    assert set(priced) == {"api", "gpu_price"}
    for assumption in priced.values():
        assert assumption.source and any(ch.isdigit() for ch in assumption.source)
        assert not assumption.custom


def test_user_prices_are_marked_custom():
    report = run("volume=1M api_price=2/8 gpu=l4 gpu_price=$0.50/h")
    custom = {a.key for a in report.assumptions if a.custom}
    assert {"api_price", "gpu_price"} <= custom
    assert report.api_price.custom


def test_tiered_prices_apply_per_request_not_per_month():
    # gemini-1.5-flash doubles its rates for requests over 128k input tokens. A month of small
    # requests adds up to far more than 128k tokens, but each request stays on the base rate.
    small = run("volume=1M api=gemini-1.5-flash in=1000 out=100")
    assert small.api_cost_per_request == pytest.approx((1000 * 0.075 + 100 * 0.30) / 1e6)
    big = run("volume=1000 api=gemini-1.5-flash in=200k out=100 prompt_cut=50%")  # 100k fits the 8B window
    assert big.api_cost_per_request == pytest.approx((200_000 * 0.15 + 100 * 0.60) / 1e6)
    assert "128,000" in big.api_price.tiered


def test_cached_input_is_priced_at_the_cache_rate():
    report = run("volume=1000 api=gpt-4o in=1000 out=0 cached=50%")
    assert report.api_cost_per_request == pytest.approx((500 * 2.5 + 500 * 1.25) / 1e6)


def test_catalogues_list_models_and_gpus():
    refs = {m.ref for m in list_api_models("gpt-4o")}
    assert "openai:gpt-4o" in refs
    assert {"t4", "l4", "a10g", "rtx4090", "a100-40gb", "a100-80gb", "h100", "h200"} <= {
        g.id for g in __import__("costcore.prices", fromlist=["list_gpus"]).list_gpus()
    }
    assert find_gpu("A100 80GB").id == "a100-80gb"


def test_gpu_bill_is_price_times_730_hours():
    report = run("volume=100k gpu=a10g gpus=2 gpu_price=$1/h maint_h=0")
    assert report.selfhost_monthly_cost == pytest.approx(2 * 1.0 * 730)


def test_instances_follow_the_load_and_ha_adds_a_spare():
    # 10 qps capacity; 60M requests a month is 22.8 qps on average -> 3 instances, 4 with N+1.
    text = "volume=60M server=$500 capacity=10qps maint_h=0"
    assert run(text).instances == 3
    assert run(text + " uptime=99.9%").instances == 4
    assert run(text + " peak=2x").instances == 5


def test_capacity_in_tokens_per_second_counts_output_tokens():
    # 3,000 tok/s at 200 output tokens a request is 15 requests a second: 22.8 qps needs 2 instances.
    report = run("volume=60M out=200 server=$500 capacity=3000tok/s maint_h=0")
    assert report.instances == 2
    capacity = next(a for a in report.assumptions if a.key == "capacity")
    assert capacity.custom and capacity.value == "15 requests/s per instance"
    # On a named GPU the measurement replaces the modelled throughput and is marked as yours.
    on_gpu = run("volume=60M out=200 gpu=h100 capacity=3000tok/s maint_h=0")
    assert on_gpu.capacity.source == "measured"
    assert on_gpu.capacity.requests_per_s == pytest.approx(15)


def test_a_model_too_big_for_one_gpu_is_split_over_several_or_refused():
    # 13B at 16 bits is 26 GB of weights: 24 GB L4s take two, 16 GB T4s four, an 80 GB A100 one.
    assert run("volume=1M gpu=l4 gpu_price=$0.80/h params=13B").capacity.gpus_per_instance == 2
    assert run("volume=1M gpu=t4 gpu_price=$0.50/h params=13B").capacity.gpus_per_instance == 4
    assert run("volume=1M gpu=a100-80gb params=13B").capacity.gpus_per_instance == 1
    with pytest.raises(GrammarError) as caught:
        run("volume=1M gpu=t4 gpu_price=$0.50/h params=13B gpus=1")
    assert caught.value.key == "gpus" and "GB" in caught.value.problem
    with pytest.raises(GrammarError) as caught:
        run("volume=1M gpu=a10g params=405B")
    assert caught.value.key == "gpu" and "810.0 GB" in caught.value.problem
    assert caught.value.example.startswith("gpu=")  # a configuration that fits, ready to paste
    run(f"volume=1M params=405B {caught.value.example}")


def test_prompt_cut_shrinks_the_per_token_host_bill():
    full = run("volume=1M in=2500 out=100 host_price=0.2 maint_h=0")
    cut = run("volume=1M in=2500 out=100 host_price=0.2 maint_h=0 ft_in=500")
    assert full.selfhost_monthly_cost == pytest.approx(1e6 * 2600 * 0.2 / 1e6)
    assert cut.selfhost_monthly_cost == pytest.approx(1e6 * 600 * 0.2 / 1e6)
    assert run("volume=1M in=2500 out=100 host_price=0.2 maint_h=0 prompt_cut=80%").selfhost_monthly_cost == (
        pytest.approx(cut.selfhost_monthly_cost)
    )


def test_iteration_multiplier_scales_the_one_time_cost_and_gives_a_range():
    base = run("volume=1M setup=10000 train=0")
    medium = run("volume=1M setup=10000 train=0 complexity=medium")
    assert base.one_time_cost == pytest.approx(10_000)
    assert medium.one_time_cost == pytest.approx(50_000)
    assert medium.one_time_range == pytest.approx((40_000, 60_000))
    assert any(line.name.startswith("Iteration") for line in medium.hidden_costs)


def test_default_one_time_cost_is_mostly_peoples_time():
    report = run("volume=1M")
    visible = sum(line.amount for line in report.hidden_costs if not line.hidden)
    assert visible < 0.1 * report.one_time_cost
    assert {a.key for a in report.assumptions} >= {"data_h", "eval_h", "infra_h", "train", "rate"}


@pytest.mark.parametrize(
    "extra, verdict, words",
    [
        ("", "BUY", "saves"),
        ("privacy=yes", "BUY", "may not leave"),
        ("latency=100ms", "BUY", "latency"),
        ("task=varied", "RENT", "beyond a small fine-tuned model"),
        ("task=reasoning privacy=yes", "HYBRID", "Split the work"),
        ("task=mixed", "HYBRID", "barbell"),
    ],
)
def test_hard_constraints_beat_cost(extra, verdict, words):
    report = run(f"volume=20M api=gpt-4o in=1500 out=200 gpu=a10g {extra}")
    assert report.verdict == verdict
    assert words in " ".join(report.reasons)
    assert report.headline.lower().startswith(verdict.lower())


def test_privacy_rules_out_the_api_even_when_it_is_cheaper():
    report = run("volume=10k api=gpt-4o-mini privacy=yes")
    assert report.monthly_savings < 0
    assert report.verdict == "BUY"


def test_payback_beyond_the_horizon_means_rent():
    report = run("volume=1M api_per_1k=1 server=500 maint_h=0 setup=100000 train=0")
    assert report.monthly_savings == pytest.approx(500)
    assert report.payback_months == pytest.approx(200)
    assert report.verdict == "RENT"
    assert "beyond the 12-month horizon" in report.reasons[0]


def test_api_cheaper_per_request_never_breaks_even():
    report = run("volume=1M api_per_1k=0.1 host_price=1 in=500 out=200")
    assert report.breakeven_requests_per_month is None
    assert report.breakeven_tokens_per_month is None
    assert report.crossings == []
    assert "never breaks even" in report.headline


def test_sensitivity_what_ifs_and_most_influential_input():
    report = run("volume=5M api_per_1k=0.2 server=400 capacity=1qps maint_h=0 setup=1000 train=20")
    what_ifs = {w.name: w for w in report.sensitivity.what_ifs}
    assert what_ifs["API prices -50%"].monthly_savings == pytest.approx(500 - 800)
    assert what_ifs["Infrastructure x2"].monthly_savings == pytest.approx(1000 - 1600)
    assert what_ifs["99.9% uptime (N+1)"].monthly_savings == pytest.approx(1000 - 1200)
    assert all(w.verdict == "RENT" for w in what_ifs.values())
    names = [c.name for c in report.sensitivity.cases]
    assert report.sensitivity.most_influential in names
    swings = [c.swing for c in report.sensitivity.cases]
    assert swings == sorted(swings, reverse=True)


def test_zero_volume_is_answered_not_crashed():
    report = run("volume=0")
    assert report.api_monthly_cost == 0
    assert report.selfhost_cost_per_request is None
    assert report.verdict == "RENT"
