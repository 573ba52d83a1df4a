"""The engine against a fake server over real HTTP: what it measures matches what the fake was set to do.

Timing checks are bands and relations, never exact times: the fake can only be slower than it was
told (a sleep overshoots, a loaded machine delays), so a lower bound is firm and an upper bound is
generous; two fakes that differ in one setting must differ in that figure, by about that much.
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.measure import Endpoint, MeasureError, Options, check_answer, load_prompts, measure, synthetic_prompts
from costcore.prices import list_gpus

from .conftest import reply, write_prompts


def own(fake, model="small", **kw) -> Endpoint:
    return Endpoint("endpoint", fake.url, model, **kw)


def run(fake, *, requests=6, concurrency=(1,), prompts=None, **options):
    prompts = prompts or synthetic_prompts(120, 40, requests)
    return measure([own(fake)], prompts, Options(requests=requests, concurrency=concurrency, **options))


def only(result) -> dict:
    assert len(result.runs) == 1
    return result.runs[0].figures()


def test_ttft_pace_and_tokens_match_what_the_server_did(fakes):
    fake = fakes(ttft=0.15, token_delay=0.01, out_tokens=40)
    row = only(run(fake, requests=5))
    assert row["ok"] == row["requests"] == 5 and row["failed"] == 0
    # Tokens come from the usage chunk: exactly what the fake reported.
    assert row["out_tokens_mean"] == 40 and row["usage_reported"] == 5
    sent = fake.chat_requests()[-1]["body"]
    assert row["in_tokens_mean"] == sum(len(m["content"].split()) for m in sent["messages"])
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    # TTFT is to the first token, not to the empty role chunk the server sends at once.
    assert 150 <= row["ttft_ms_p50"] <= 150 + 400 and row["ttft_ms_p95"] <= 150 + 1000
    # 100 tokens a second a stream, as configured: a wide band, since a loaded machine reads late.
    assert 30 <= row["output_tok_s_per_stream"] <= 170
    # Latency covers the whole answer: the first token plus 39 more at 10 ms.
    assert row["latency_ms_p50"] >= 150 + 39 * 10


def test_a_slower_server_measures_slower_in_proportion(fakes):
    base = only(run(fakes(ttft=0.05, token_delay=0.01, out_tokens=30), requests=5))
    late = only(run(fakes(ttft=0.35, token_delay=0.01, out_tokens=30), requests=5))
    slow = only(run(fakes(ttft=0.05, token_delay=0.02, out_tokens=30), requests=5))
    # 300 ms more before the first token: the TTFT shows it, and the pace of the stream does not.
    assert 150 <= late["ttft_ms_p50"] - base["ttft_ms_p50"] <= 700
    assert 0.65 <= late["output_tok_s_per_stream"] / base["output_tok_s_per_stream"] <= 1.5
    # Twice the delay between tokens: about half the pace, and no later first token.
    assert 0.3 <= slow["output_tok_s_per_stream"] / base["output_tok_s_per_stream"] <= 0.75
    assert slow["ttft_ms_p50"] < base["ttft_ms_p50"] + 300


def test_concurrency_multiplies_throughput_and_never_exceeds_the_level(fakes):
    fake = fakes(ttft=0.05, token_delay=0.01, out_tokens=20)
    result = run(fake, requests=12, concurrency=(1, 4))
    one, four = (r.figures() for r in result.runs)
    assert (one["concurrency"], four["concurrency"]) == (1, 4)
    assert fake.max_in_flight == 4  # four streams at once, never five
    assert four["output_tok_s"] >= 1.8 * one["output_tok_s"]  # about 4x; at least 1.8x on a loaded machine
    assert four["requests_per_s"] >= 1.8 * one["requests_per_s"]
    # The pace of one stream does not depend on how many run beside it, on this server.
    assert four["output_tok_s_per_stream"] >= 0.5 * one["output_tok_s_per_stream"]


def test_http_errors_timeouts_and_empty_answers_are_counted_as_failures(fakes):
    # The warm-up is the fake's request 1; the 12 measured ones are 2..13.
    errors = only(run(fakes(error_every=4, error_status=503), requests=12, concurrency=(3,)))
    assert errors["failures"] == {"HTTP 503": 3} and errors["failed"] == 3 and errors["ok"] == 9
    assert errors["failure_rate"] == 0.25
    hangs = only(run(fakes(hang_every=5), requests=9, request_timeout=1.5))  # 2..10: 5 and 10 hang
    assert hangs["failures"] == {"timeout": 2} and hangs["ok"] == 7
    empty = only(run(fakes(empty_every=3), requests=9))
    assert empty["failures"] == {"empty answer": 3} and empty["failure_rate"] == pytest.approx(3 / 9, abs=1e-4)


def test_wrong_answers_make_the_measured_failure_rate(fakes, tmp_path):
    lines = [  # first, so that the fake's wrong 5th and 10th answers fall on plain ones
        reply('{"label": "billing", "urgent": true, "score": 0.9}', {"label": "billing", "urgent": True}),
        reply('```json\n{"label": "refund"}\n```', {"label": "refund"}),
    ] + [reply(str(i)) for i in range(8)]
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", lines))
    result = run(fakes(wrong_every=5), requests=10, prompts=prompts, concurrency=(2,))
    row = only(result)
    # Requests 2..11 on the fake: 5 and 10 get "WRONG"; the JSON answers (extra fields, a fence) pass.
    assert row["checked"] == 10 and row["wrong"] == 2 and row["failures"] == {"wrong answer": 2}
    assert row["failure_rate"] == 0.2
    assert result.figures["fail_ft"] == 0.2 and "fail_api" not in result.figures
    assert result.figures["ft_in_tokens"] == row["in_tokens_mean"]


def test_answer_checks():
    assert check_answer(" 4\n", "4") and not check_answer("4.", "4")
    assert check_answer('{"a": 1, "b": [2]}', {"a": 1}) and not check_answer('{"a": 2}', {"a": 1})
    assert check_answer('```json\n{"a": 1}\n```', {"a": 1}) and not check_answer("a: 1", {"a": 1})
    assert check_answer("[1, 2]", [1, 2]) and check_answer("7", 7)


def test_without_usage_tokens_are_counted_by_chunk_and_the_user_is_told(fakes):
    result = run(fakes(usage=False, out_tokens=25), requests=3)
    row = only(result)
    assert row["out_tokens_mean"] == 25 and row["usage_reported"] == 0 and row["in_tokens_mean"] is None
    assert any("reported no token usage" in note for note in result.notes)


def test_capacity_is_the_best_throughput_that_meets_the_latency_bound(fakes):
    # Like a GPU, each stream slows as more run: concurrency 4 serves more tokens a second in all
    # (about 1.4x), but each answer takes about 1.7 s instead of 0.6 s.
    fake = fakes(ttft=0.05, token_delay=0.02, out_tokens=30, batch_penalty=0.6)
    free = run(fake, requests=5, concurrency=(1, 4))
    one, four = (r.figures() for r in free.runs)
    assert four["output_tok_s"] > one["output_tok_s"] and four["latency_ms_p95"] > one["latency_ms_p95"]
    assert free.chosen.concurrency == 4
    assert free.figures["capacity_tok_s"] == pytest.approx(four["output_tok_s"], abs=0.1)
    bound = run(fake, requests=5, concurrency=(1, 4), latency_ms=1150)
    assert bound.chosen.concurrency == 1
    assert bound.figures["capacity_tok_s"] == pytest.approx(bound.runs[0].figures()["output_tok_s"], abs=0.1)
    impossible = run(fake, requests=2, concurrency=(1,), latency_ms=1)
    assert "capacity_tok_s" not in impossible.figures
    assert any("no concurrency met latency=1ms" in n for n in impossible.notes)


def test_costs_a_request(fakes):
    fake = fakes(models=("small", "gpt-4o-mini"), out_tokens=20, cached_tokens=100)
    prompts = synthetic_prompts(200, 20, 4)
    api = Endpoint("api", fake.url, "gpt-4o-mini", key="sk-x")
    result = measure([api, own(fake)], prompts, Options(requests=4, concurrency=(2,), gpu="l4", gpus=2, gpu_price=0.80))
    api_row, own_row = (r.figures() for r in result.runs)
    # The API at its list price for the measured tokens: gpt-4o-mini is $0.15 / $0.60 per 1M, and
    # $0.075 for input read from its cache (100 tokens a request here).
    expected = ((api_row["in_tokens_mean"] - 100) * 0.15 + 100 * 0.075 + 20 * 0.60) / 1e6
    assert api_row["cost_per_request"] == pytest.approx(expected, rel=0.01)
    assert api_row["cached_share"] == pytest.approx(100 / api_row["in_tokens_mean"], rel=0.01)
    assert any(f"add cached={100 / api_row['in_tokens_mean']:.0%}" in n for n in result.notes)
    # Self-hosting: two L4s at the price given an hour over the requests served an hour.
    assert own_row["cost_per_request"] == pytest.approx(2 * 0.80 / 3600 / own_row["requests_per_s"], rel=0.01)
    assert "L4" in own_row["cost_basis"]
    # A GPU with no always-on price in the catalogue: a measured server runs all month, so no price
    # from another billing mode stands in for it; the basis says so and what to give.
    unpriced = [g for g in list_gpus() if g.price_per_hour is None]
    assert unpriced
    catalogue_only = measure([own(fake)], prompts, Options(requests=2, concurrency=(1,), gpu=unpriced[0].id))
    row = catalogue_only.runs[0].figures()
    assert row["cost_per_request"] is None
    assert f"no always-on price for the {unpriced[0].name}" in row["cost_basis"] and "gpu_price=" in row["cost_basis"]
    unknown = measure([own(fake)], prompts, Options(requests=2, concurrency=(1,)))
    assert unknown.runs[0].figures()["cost_per_request"] is None


def test_a_slow_progress_display_does_not_lower_the_measured_throughput(fakes):
    fake = fakes(ttft=0.05, token_delay=0.01, out_tokens=10)
    quick = only(run(fake, requests=5))

    calls = []

    def slow_display(progress) -> None:  # a Slack edit that takes two seconds, while the answers go on
        calls.append(progress)
        if len(calls) == 1:
            time.sleep(2.0)

    prompts = synthetic_prompts(120, 40, 5)
    slow = measure([own(fake)], prompts, Options(requests=5, concurrency=(1,)), progress=slow_display)
    assert slow.runs[0].figures()["requests_per_s"] >= 0.55 * quick["requests_per_s"]  # not 0.35, as it was


def test_a_stop_or_the_run_timeout_ends_it_with_what_finished(fakes):
    fake = fakes(ttft=0.05, token_delay=0.02, out_tokens=20)  # about 0.45 s an answer
    began = time.monotonic()
    result = run(fake, requests=60, concurrency=(2, 4), run_timeout=2.0)
    # The limit held: both levels would take 20 s; a starved machine may add seconds, not tens of them.
    assert time.monotonic() - began < 2.0 + 8.0
    assert result.stopped == "time limit" and len(result.runs) == 1 and result.runs[0].stopped == "time limit"
    assert result.runs[0].figures()["ok"] < 60
    stop = threading.Event()

    def stop_after_two(progress) -> None:  # as the bot would stop, or Ctrl-C in the CLI
        if progress.done >= 2:
            stop.set()

    prompts = synthetic_prompts(50, 20, 40)
    stopped = measure([own(fake)], prompts, Options(requests=40, concurrency=(2,)), stop=stop, progress=stop_after_two)
    row = stopped.runs[0].figures()
    assert stopped.stopped == "interrupted" and 2 <= row["ok"] == row["requests"] < 40  # in flight: dropped, not failed


@pytest.mark.parametrize(
    "config, model, words",
    [
        ({"mode": "html"}, "small", "not JSON: is this the OpenAI-compatible base URL"),
        ({}, "llama-70b", "has no model 'llama-70b'; it serves: small"),
        ({"mode": "no-models"}, "llama-70b", "has no model 'llama-70b' (HTTP 404"),
        ({"error_every": 1, "error_status": 500}, "small", "failed a first request (HTTP 500: overloaded)"),
    ],
)
def test_an_unusable_endpoint_is_one_clear_error(fakes, config, model, words):
    fake = fakes(**config)
    with pytest.raises(MeasureError) as caught:
        measure([own(fake, model)], synthetic_prompts(50, 10, 2), Options(requests=2, concurrency=(1,)))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_server_that_is_down_is_named():
    down = Endpoint("endpoint", "http://127.0.0.1:9/v1", "small")
    with pytest.raises(MeasureError, match=r"cannot reach http://127.0.0.1:9/v1: Connection refused"):
        measure([down], synthetic_prompts(50, 10, 1), Options(requests=1, concurrency=(1,)))


def test_keys_go_only_where_they_belong(fakes, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-123456")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-ours")
    fake = fakes(models=("small", "gpt-4o-mini"))
    keyed = own(fake, key="vllm-secret-key", key_source="--key-env VLLM_KEY")
    measure([own(fake), keyed], synthetic_prompts(50, 5, 1), Options(requests=1, concurrency=(1,)))
    seen = {r["authorization"] for r in fake.requests}
    # The provider's key and organization from the environment never reach a self-hosted server.
    assert seen == {"Bearer no-key", "Bearer vllm-secret-key"}
    assert not any("org-ours" in str(r["headers"]) for r in fake.requests)
    api = Endpoint("api", fake.url, "gpt-4o-mini", key="sk-from-the-environment-123456")
    measure([api], synthetic_prompts(50, 5, 1), Options(requests=1, concurrency=(1,)))
    assert fake.requests[-1]["headers"].get("openai-organization") == "org-ours"  # the API keeps it
    assert keyed.label == fake.url and "secret" not in repr(keyed)


def test_a_url_with_a_key_in_it_is_shown_without_it(fakes):
    fake = fakes()
    endpoint = Endpoint("endpoint", f"http://user:pw@127.0.0.1:{fake.port}/v1?api-key=SECRET&x=1", "small")
    result = measure([endpoint], synthetic_prompts(50, 5, 1), Options(requests=1, concurrency=(1,)))
    assert result.runs[0].figures()["endpoint"] == fake.url
    assert "SECRET" not in str(result.to_json()) and "pw" not in str(result.to_json())
    assert all("api-key=SECRET" in r["path"] for r in fake.requests)  # sent, as the server needs it


def test_prompt_files_are_checked_line_by_line(tmp_path):
    good = write_prompts(tmp_path / "good.jsonl", [reply("4"), {"messages": [{"role": "user", "content": "hi"}]}])
    loaded = load_prompts(good)
    assert len(loaded.prompts) == 2 and loaded.prompts[0].expected == "4" and len(loaded.sha256) == 64
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": "hi"}\n')
    with pytest.raises(MeasureError, match='bad.jsonl line 2: needs "messages"'):
        load_prompts(bad)
    bad.write_text("not json\n")
    with pytest.raises(MeasureError, match="line 1 is not JSON"):
        load_prompts(bad)


def test_synthetic_prompts_have_the_scenario_shape_and_differ(fakes):
    prompts = synthetic_prompts(1500, 200, 3)
    texts = [p.messages[0]["content"] for p in prompts.prompts]
    assert len(set(t[:40] for t in texts)) == 3  # different openings: no prefix-cache shortcut
    assert all(1400 <= len(t.split()) <= 1550 for t in texts)
    assert all(p.max_tokens == 200 for p in prompts.prompts)
