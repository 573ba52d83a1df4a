"""Lines that a hand-made break once passed the whole suite with: each test here fails when its line breaks.

- payback exactly at the horizon is within it, on today's bills and on the growth path;
- a use-case template's volume is not used when the volume is given another way (tokens=);
- the time to the first token is never under one read of the weights (the floor of a memory-bound pass).
"""

from __future__ import annotations

import pytest

from costcore import analyze, parse
from costcore import growth as growth_path
from costcore.prices import list_gpus
from costcore.serving import BANDWIDTH_EFFICIENCY, GB, REQUEST_OVERHEAD_S, ServingError, list_open_models, size
from costcore.templates import catalogue
from costcore.verdict import cost_verdict

# $2,000 of API against one $1,000 server, $12,000 up front with nothing added: $1,000 a month saved,
# payback exactly 12 months.
EXACT = "volume=1M api_per_1k=$2 server=$1000 capacity=100qps setup=$12000 maint_h=0 horizon=12"


def test_payback_exactly_at_the_horizon_is_within_it():
    report = analyze(parse(EXACT))
    assert (report.monthly_savings, report.payback_months) == (1000.0, 12.0)
    assert report.verdict == "BUY"
    assert analyze(parse(EXACT.replace("horizon=12", "horizon=11.99"))).verdict == "RENT"
    assert cost_verdict(1000.0, 12.0, 12.0) == "BUY" and cost_verdict(1000.0, 12.000001, 12.0) == "RENT"


def test_on_the_growth_path_too_payback_at_the_horizon_is_within_it():
    report = analyze(parse(f"{EXACT} growth=0/month"))
    assert report.growth.payback_months == 12.0 and report.growth.payback_month == 12
    assert report.verdict == "BUY"
    assert growth_path.verdict(12.0, 12.0) == "BUY" and growth_path.verdict(12.0, 11.99) == "RENT"
    assert analyze(parse(f"{EXACT.replace('horizon=12', 'horizon=11.99')} growth=0/month")).verdict == "RENT"


@pytest.mark.parametrize("template", [t.name for t in catalogue()])
def test_a_templates_volume_gives_way_to_tokens_given(template):
    t = next(t for t in catalogue() if t.name == template)
    report = analyze(parse(f"use={template} tokens=50M/month"))
    assert report.requests_per_month == pytest.approx(50e6 / (t.in_tokens + t.out_tokens))
    assert "volume" in report.template.overridden and "volume" not in report.template.filled
    assert report.requests_per_month != pytest.approx(t.volume.typical)


@pytest.mark.parametrize("gpu", [g.id for g in list_gpus()])
def test_the_first_token_never_comes_before_one_read_of_the_weights(gpu):
    checked = 0
    for model in list_open_models():
        for bits in (16, 8, 4):
            try:
                s = size(model, gpu, in_tokens=10, out_tokens=50, bits=bits)
            except ServingError:
                continue
            weights = model.params_b * 1e9 * bits / 8
            from costcore.prices import find_gpu

            one_read = weights / (s.gpus_per_instance * find_gpu(gpu).bandwidth_gb_s * GB * BANDWIDTH_EFFICIENCY)
            assert s.ttft_ms / 1000 >= one_read + REQUEST_OVERHEAD_S - 1e-12, (model.id, bits)
            checked += 1
    assert checked


def test_an_8b_model_on_an_l4_shows_its_first_token_after_71_ms():
    # 16.06 GB of weights read at 80% of 300 GB/s is 67 ms, plus 4 ms of request overhead.
    assert size("llama-3.1-8b", "l4", in_tokens=10, out_tokens=200).ttft_ms == pytest.approx(70.9, abs=0.1)
