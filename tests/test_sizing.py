"""The buy side sized from tokens, as a user sees it: `breakeven serving`, the capacity object of
`analyze --json`, instances that follow the request's shape, and the latency bound checked against
the modelled answer time."""

import json
import subprocess
import sys

import pytest

from costcore import GrammarError, analyze, parse

KEYS = {
    "gpu",
    "gpus_per_instance",
    "fits",
    "weights_gb",
    "kv_gb_per_request",
    "max_concurrency",
    "concurrency",
    "decode_tok_s_per_stream",
    "output_tok_s",
    "requests_per_s",
    "ttft_ms",
    "latency_ms",
    "bound",
    "instances",
    "source",
}


def cli(*args):
    return subprocess.run([sys.executable, "-m", "breakeven", *args], capture_output=True, text=True, timeout=120)


def test_serving_json_is_the_capacity_object_of_analyze():
    shape = ["gpu=h100", "params=8B", "in=1500", "out=200", "volume=20M", "peak=3x"]
    serving = cli("serving", *shape, "--json")
    assert serving.returncode == 0, serving.stderr
    sized = json.loads(serving.stdout)
    assert KEYS <= set(sized)
    report = json.loads(cli("analyze", *shape, "api=gpt-4o", "--json").stdout)
    assert report["capacity"] == sized
    assert report["instances"] == sized["instances"]
    assert sized["bound"] in ("memory bandwidth", "compute", "KV cache memory") and sized["source"] == "model"


def test_serving_says_what_one_instance_carries_in_one_line():
    result = cli("serving", "gpu=h100", "params=8B", "in=1500", "out=200")
    assert result.returncode == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("1 x NVIDIA H100 SXM 80 GB per instance, up to ") and "output tokens/s" in first


def test_serving_refuses_keys_that_are_not_about_sizing():
    result = cli("serving", "gpu=h100", "api=gpt-4o")
    assert result.returncode == 2 and "`api`: not a sizing key" in result.stderr


def instances(text):
    return analyze(parse(f"volume=50M peak=2x gpu=a10g api=gpt-4o {text}")).instances


def test_the_request_shape_moves_the_instance_count():
    short, long = instances("in=500 out=200"), instances("in=500 out=2000")
    assert long > 3 * short
    assert instances("in=8000 out=200") > instances("in=500 out=200")  # a long prompt takes prefill time
    # Fine-tuning shortens the prompt: fewer prefill seconds, fewer instances.
    assert instances("in=8000 out=200 ft_in=500") < instances("in=8000 out=200")
    assert instances("in=8000 out=200 prompt_cut=90%") < instances("in=8000 out=200")


def test_out_4000_serves_at_least_8x_fewer_requests_than_out_200():
    def rps(out):
        return analyze(parse(f"volume=10M gpu=h100 params=8B in=500 out={out}")).capacity.requests_per_s

    assert rps(200) >= 8 * rps(4000)


def test_quantising_raises_throughput_and_concurrency():
    def sized(bits):
        return analyze(parse(f"volume=10M gpu=l4 gpu_price=$0.80/h params=8B bits={bits}")).capacity

    assert sized(8).requests_per_s > sized(16).requests_per_s
    assert sized(8).max_concurrency > sized(16).max_concurrency


def test_a_70b_model_on_a10gs_takes_eight_gpus_an_instance_priced_as_eight():
    report = analyze(parse("volume=1M gpu=a10g params=70B api=gpt-4o"))
    assert report.capacity.gpus_per_instance == 8
    servers = next(line for line in report.selfhost_lines if line.name == "Servers")
    assert report.cost_model.instance_monthly == pytest.approx(8 * 1.003 * 730, rel=0.2)
    assert servers.amount == pytest.approx(report.instances * report.cost_model.instance_monthly)
    assert "8 x NVIDIA A10G" in report.capacity.summary


def test_the_latency_bound_is_checked_against_the_modelled_answer():
    # On one A10G per instance (gpus=1) no answer comes within 2 s.
    report = analyze(parse("volume=2M gpu=a10g params=8B in=1500 out=200 api=gpt-4o latency=2s gpus=1"))
    check = next(c for c in report.constraints if c.option == "selfhost")
    assert not check.met
    assert f"~{report.capacity.latency_ms:,.0f} ms a whole answer" in check.detail
    assert "50-150 ms" not in json.dumps(report.model_dump(mode="json"))
    assert report.verdict == "RENT"
    # Left to the tool, the model is split over 8 A10Gs, which answer within the bound, and the report says why.
    split = analyze(parse("volume=2M gpu=a10g params=8B in=1500 out=200 api=gpt-4o latency=2s"))
    assert split.capacity.gpus_per_instance == 8
    met = next(c for c in split.constraints if c.option == "selfhost")
    assert met.met and f"~{split.capacity.latency_ms:,.0f} ms a whole answer" in met.detail
    assert any("with fewer GPUs an instance misses the latency bound" in note for note in split.capacity.notes)
    # Streamed, the bound applies to the first token, which the model shows in well under 2 s.
    streamed = analyze(parse("volume=2M gpu=a10g params=8B in=1500 out=200 api=gpt-4o latency=2s streaming=yes"))
    assert next(c for c in streamed.constraints if c.option == "selfhost").met


def test_a_latency_bound_lowers_concurrency_and_adds_instances():
    free = analyze(parse("volume=200M gpu=h100 params=8B in=1500 out=200 api=gpt-4o gpus=1"))
    bound = analyze(parse("volume=200M gpu=h100 params=8B in=1500 out=200 api=gpt-4o latency=2.5s gpus=1"))
    assert bound.capacity.concurrency < free.capacity.concurrency
    assert bound.instances > free.instances
    # Left to choose the split, the tool meets the same bound for less: 2 x H100 instances, each faster.
    split = analyze(parse("volume=200M gpu=h100 params=8B in=1500 out=200 api=gpt-4o latency=2.5s"))
    assert split.capacity.gpus_per_instance == 2 and split.capacity.meets_latency
    assert split.selfhost_monthly_cost < bound.selfhost_monthly_cost
    assert bound.capacity.meets_latency
    assert any("more instances" in note for note in bound.capacity.notes)


def test_a_measured_capacity_overrides_the_model_and_is_marked_yours():
    report = analyze(parse("volume=20M gpu=h100 params=8B out=200 capacity=1200tok/s api=gpt-4o"))
    assert report.capacity.source == "measured" and report.capacity.requests_per_s == pytest.approx(6)
    assert next(a for a in report.assumptions if a.key == "capacity").custom


# --- The model's context window ----------------------------------------------------------------


def test_every_open_model_carries_its_window_with_a_source():
    from costcore.serving import list_open_models

    windows = {m.id: m.context for m in list_open_models()}
    assert windows["llama-3.1-8b"] == 131_072 and windows["llama-3-8b"] == 8_192
    assert windows["phi-3-mini"] == 4_096 and windows["mistral-7b"] == 32_768
    for model in list_open_models():
        assert model.context >= 2_048 and model.context_source.startswith("https://"), model.id


def test_a_prompt_longer_than_the_window_is_refused_with_what_would_fit():
    with pytest.raises(GrammarError) as caught:
        analyze(parse("in=300k"))  # the default Llama 3.1 8B reads 131,072 tokens
    error = caught.value
    assert error.key == "in"
    assert "reads at most 131,072 tokens a request" in error.problem and "300,200" in error.problem
    assert error.example == "ft_in=130872"
    fitted = analyze(parse(f"in=300k {error.example}"))  # the fix offered works
    assert fitted.capacity.in_tokens + fitted.capacity.out_tokens == 131_072


def test_the_key_named_is_the_one_that_made_the_request_long():
    def key_of(text):
        with pytest.raises(GrammarError) as caught:
            analyze(parse(text))
        return caught.value.key

    assert key_of("in=300k prompt_cut=10%") == "prompt_cut"
    assert key_of("ft_in=474860 api=gpt-4o") == "ft_in"
    assert key_of("out=140k") == "out"
    assert key_of("in=300k server=800 capacity=5qps") == "in"  # nothing sized, the window still holds


def test_a_short_window_names_models_whose_window_holds_the_request_and_each_works():
    with pytest.raises(GrammarError) as caught:
        analyze(parse("base=phi-3-mini in=5000 api=gpt-4o"))
    error = caught.value
    assert "Phi-3 mini (3.8B) reads at most 4,096" in error.problem
    offered = [word for word in error.problem.split("(") if word.startswith("base=")]
    assert offered
    for choice in offered:
        model = choice.split(")")[0]
        report = analyze(parse(f"{model} in=5000 api=gpt-4o"))
        assert report.capacity.in_tokens + report.capacity.out_tokens <= report.capacity.context_tokens


def test_a_prompt_that_fits_once_cut_is_sized():
    report = analyze(parse("in=300k prompt_cut=90%"))
    assert report.capacity.in_tokens == pytest.approx(30_000)
    assert report.capacity.context_tokens == 131_072


def test_breakeven_serving_refuses_the_same_way():
    result = subprocess.run(
        [sys.executable, "-m", "breakeven", "serving", "in=300k"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "131,072" in result.stderr and "Traceback" not in result.stderr
