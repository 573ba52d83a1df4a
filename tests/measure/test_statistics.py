"""The measure statistics on their own: percentiles, one run's figures and a measurement's summary,
from samples whose times are given, so every figure is exact and checked by hand."""

from __future__ import annotations

import pytest

from bot.measure import Endpoint, Options, Result, Run, Sample, _summarise, percentile, synthetic_prompts

OWN = Endpoint("endpoint", "http://10.0.0.5:8000/v1", "small")
API = Endpoint("api", None, "gpt-4o-mini")


@pytest.mark.parametrize(
    "values, q, expected",
    [
        ([], 50, None),
        ([7.0], 95, 7.0),
        ([1.0, 2.0], 50, 1.5),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 95, 3.85),  # rank 0.95 x 3 = 2.85: 3 + 0.85 x (4 - 3), numpy's default
        ([4.0, 1.0, 3.0, 2.0], 95, 3.85),  # order does not matter
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0, 10.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 100, 50.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 25, 20.0),
        ([5.0] * 20, 95, 5.0),
        (list(range(1, 101)), 95, 95.05),
    ],
)
def test_percentile_interpolates_between_closest_ranks(values, q, expected):
    assert percentile([float(v) for v in values], q) == pytest.approx(expected)


def sample(ttft, latency, out, *, inp=100.0, finished=None, error=None, correct=None, cached=0.0, pace=None):
    return Sample(
        error=error,
        ttft=ttft,
        latency=latency,
        decode_tok_s=pace,
        in_tokens=inp,
        out_tokens=out,
        cached_tokens=cached,
        usage_reported=out is not None,
        finished=finished,
        correct=correct,
    )


def test_one_runs_figures_by_hand():
    run = Run(endpoint=OWN, concurrency=2, planned=5, wall_s=2.0)
    run.samples = [
        sample(0.10, 1.0, 40, finished=1.0, correct=True, pace=50.0),
        sample(0.20, 1.2, 60, finished=1.2, correct=False, pace=40.0),
        sample(0.30, 1.9, 50, finished=2.0, correct=True, pace=30.0),
        sample(0.40, 2.0, 50, finished=2.0, correct=None, pace=20.0),
        Sample(error="HTTP 503"),
    ]
    row = run.figures()
    assert (row["requests"], row["ok"], row["failed"], row["checked"], row["wrong"]) == (5, 4, 1, 3, 1)
    assert row["failures"] == {"HTTP 503": 1, "wrong answer": 1}
    assert row["failure_rate"] == 0.4  # (1 failed + 1 wrong) / 5 sent
    assert row["ttft_ms_p50"] == 250.0 and row["ttft_ms_p95"] == 385.0
    assert row["latency_ms_p50"] == 1550.0 and row["latency_ms_p95"] == 1985.0
    assert row["out_tokens_mean"] == 50.0 and row["in_tokens_mean"] == 100.0
    assert row["output_tok_s_per_stream"] == 35.0  # the mean pace of the streams
    assert row["output_tok_s"] == 100.0  # 200 tokens in 2 s
    assert row["requests_per_s"] == 2.0  # 4 answers in 2 s


def test_throughput_counts_streams_side_by_side():
    # Four streams of one answer each, in parallel, finishing at 1 s: four times one stream's rate.
    one = Run(endpoint=OWN, concurrency=1, planned=4, wall_s=4.0)
    one.samples = [sample(0.1, 1.0, 100, finished=float(i + 1)) for i in range(4)]
    four = Run(endpoint=OWN, concurrency=4, planned=4, wall_s=1.0)
    four.samples = [sample(0.1, 1.0, 100, finished=1.0) for _ in range(4)]
    assert one.figures()["output_tok_s"] == 100.0 and four.figures()["output_tok_s"] == 400.0
    assert four.figures()["requests_per_s"] == 4 * one.figures()["requests_per_s"]


def test_a_run_with_no_answer_has_no_rates():
    run = Run(endpoint=OWN, concurrency=1, planned=2, wall_s=3.0)
    run.samples = [Sample(error="timeout"), Sample(error="connection")]
    row = run.figures()
    assert row["ok"] == 0 and row["failure_rate"] == 1.0
    assert row["output_tok_s"] is None and row["requests_per_s"] is None and row["ttft_ms_p50"] is None
    assert Run(endpoint=OWN, concurrency=1, planned=0).figures()["failure_rate"] is None


def test_the_self_host_cost_is_the_hourly_price_over_the_requests_served_an_hour():
    run = Run(endpoint=OWN, concurrency=1, planned=2, wall_s=2.0, selfhost_hourly=3.6)
    run.samples = [sample(0.1, 1.0, 10, finished=1.0), sample(0.1, 1.0, 10, finished=2.0)]
    assert run.figures()["cost_per_request"] == pytest.approx(3.6 / 3600 / 1.0)


def _file_prompts():
    from bot.measure import Prompt, PromptSet

    return PromptSet([Prompt(messages=[{"role": "user", "content": "x"}])], "your.jsonl (1 lines)", "0" * 64, False)


def test_capacity_is_the_best_throughput_whose_p95_meets_the_bound():
    slow_but_big = Run(endpoint=OWN, concurrency=8, planned=2, wall_s=1.0)
    slow_but_big.samples = [sample(0.5, 3.0, 400, finished=1.0), sample(0.5, 3.2, 400, finished=1.0)]
    quick = Run(endpoint=OWN, concurrency=1, planned=2, wall_s=2.0)
    quick.samples = [sample(0.1, 0.9, 100, finished=1.0), sample(0.1, 1.0, 100, finished=2.0)]
    free = Result(runs=[quick, slow_but_big], prompts=_file_prompts(), date="d")
    _summarise(free, Options())
    assert free.chosen is slow_but_big and free.figures["capacity_tok_s"] == 800.0
    assert free.figures["ft_latency_ms"] == 3190.0  # its p95, where capacity was taken
    bound = Result(runs=[quick, slow_but_big], prompts=_file_prompts(), date="d")
    _summarise(bound, Options(latency_ms=2000))
    assert bound.chosen is quick and bound.figures["capacity_tok_s"] == 100.0
    impossible = Result(runs=[quick], prompts=_file_prompts(), date="d")
    _summarise(impossible, Options(latency_ms=500))
    assert "capacity_tok_s" not in impossible.figures
    assert any("no concurrency met latency=500ms at p95 (the best was 995 ms)" in note for note in impossible.notes)


def test_failure_rates_and_tokens_pool_over_the_levels():
    api_1 = Run(endpoint=API, concurrency=1, planned=2, wall_s=1.0)
    api_1.samples = [sample(0.2, 1.0, 20, inp=110, correct=True), sample(0.2, 2.0, 40, inp=130, correct=False)]
    api_2 = Run(endpoint=API, concurrency=2, planned=2, wall_s=1.0)
    api_2.samples = [sample(0.2, 3.0, 30, inp=120, correct=True), Sample(error="HTTP 500")]
    own = Run(endpoint=OWN, concurrency=1, planned=2, wall_s=2.0)
    own.samples = [sample(0.1, 1.0, 10, inp=90, correct=True), sample(0.1, 1.0, 10, inp=90, correct=True)]
    result = Result(runs=[api_1, api_2, own], prompts=_file_prompts(), date="d")
    _summarise(result, Options())
    figures = result.figures
    assert figures["in_tokens"] == 120.0 and figures["out_tokens"] == 30.0  # the API's answers, pooled
    assert figures["ft_in_tokens"] == 90.0
    assert figures["fail_api"] == 0.5  # 1 wrong + 1 failed of 4 sent
    assert figures["fail_ft"] == 0.0
    assert figures["api_latency_ms"] == 2900.0  # p95 of 1, 2, 3 s
    assert figures["api_ttft_ms"] == 200.0


def test_synthetic_prompts_measure_speed_only_and_say_so():
    run = Run(endpoint=OWN, concurrency=1, planned=1, wall_s=1.0)
    run.samples = [sample(0.1, 1.0, 10, finished=1.0)]
    result = Result(runs=[run], prompts=synthetic_prompts(100, 10, 1), date="d")
    _summarise(result, Options())
    assert "in_tokens" not in result.figures and "fail_ft" not in result.figures
    assert "capacity_tok_s" in result.figures
    assert any(note.startswith("synthetic prompts measure speed, not your traffic") for note in result.notes)
