"""`breakeven measure` as a user runs it: a real process against fake servers on 127.0.0.1."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from .conftest import API_KEY, ROOT, breakeven, clean_env, reply, write_prompts


def side_by_side(fakes, tmp_path, *extra: str):
    """The API (a fake behind OPENAI_BASE_URL) and a self-hosted fake, on the same prompt file."""
    api = fakes(models=("gpt-4o-mini",), out_tokens=30, prompt_extra_tokens=7, wrong_every=4)
    own = fakes(models=("my-ft",), out_tokens=12)
    lines = [reply(f"answer number {i}") for i in range(8)]  # 3 tokens each; the fakes count words
    prompts = write_prompts(tmp_path / "support.jsonl", lines)
    env = clean_env(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=api.url)
    args = ["measure", "--api", "gpt-4o-mini", "--endpoint", own.url, "--model", "my-ft", "--prompts", str(prompts)]
    result = breakeven(*args, "--requests", "8", "--concurrency", "1,2", *extra, cwd=tmp_path, env=env)
    return api, own, result


def test_side_by_side_json_has_a_run_per_endpoint_and_concurrency_and_the_keys_to_reuse(fakes, tmp_path):
    api, own, result = side_by_side(fakes, tmp_path, "gpu=l4", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    runs = data["runs"]
    assert [(r["kind"], r["model"], r["concurrency"]) for r in runs] == [
        ("api", "gpt-4o-mini", 1),
        ("endpoint", "my-ft", 1),
        ("api", "gpt-4o-mini", 2),
        ("endpoint", "my-ft", 2),
    ]
    for run in runs:
        for key in (
            "endpoint", "model", "concurrency", "requests", "ok", "failed", "failure_rate", "in_tokens_mean",
            "out_tokens_mean", "ttft_ms_p50", "ttft_ms_p95", "latency_ms_p50", "latency_ms_p95",
            "output_tok_s_per_stream", "output_tok_s", "requests_per_s", "cost_per_request",
        ):  # fmt: skip
            assert key in run, key
        assert run["requests"] == 8 and run["cost_per_request"] > 0
    api_runs, own_runs = runs[0::2], runs[1::2]
    figures = data["figures"]
    assert figures["in_tokens"] - figures["ft_in_tokens"] == 7  # the API counts 7 more tokens a prompt
    assert figures["out_tokens"] == pytest.approx(sum(r["out_tokens_mean"] for r in api_runs) / 2)
    # The API fake answers its 4th, 8th, ... request wrongly: 4 of the 16 measured (its requests 2..17).
    assert figures["fail_api"] == pytest.approx(4 / 16) and figures["fail_ft"] == 0
    assert figures["capacity_tok_s"] == pytest.approx(max(r["output_tok_s"] for r in own_runs), abs=0.1)
    assert data["scenario_keys"].startswith(f"in={round(figures['in_tokens'])} out=")
    assert "fail_api=25%" in data["scenario_keys"] and "capacity=" in data["scenario_keys"]
    # The API's latency, p95 over its answers pooled across runs: for a latency bound (api_latency=).
    # A pooled p95 is at least every run's median and at least the smaller run's p95 (the two runs'
    # slowest answers are both in the pool). It may exceed the larger run's p95: interpolating between
    # the pool's two slowest answers can land above a run whose second-slowest answer is fast.
    assert figures["api_latency_ms"] >= max(r["latency_ms_p50"] for r in api_runs)
    assert figures["api_latency_ms"] >= min(r["latency_ms_p95"] for r in api_runs)
    assert figures["api_latency_ms"] >= 50  # the fake waits 50 ms before its first token; a sleep never undershoots
    assert f"api_latency={figures['api_latency_ms']:.0f}ms" in data["scenario_keys"]
    assert data["prompts"]["sha256"] and result.stderr == ""  # no progress bar when stderr is not a terminal
    assert len(api.chat_requests()) == len(own.chat_requests()) == 17  # 16 measured + 1 warm-up each


def test_the_table_shows_each_run_and_what_to_do_next(fakes, tmp_path):
    _, own, result = side_by_side(fakes, tmp_path, "latency=5s")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    header = next(line for line in out.splitlines() if line.startswith("endpoint"))
    for column in ("TTFT p50/p95 ms", "latency p50/p95 ms", "tok/s/stream", "req/s", "$/request"):
        assert column in header
    lines = out.splitlines()
    table = lines[lines.index(header) + 1 : lines.index("", lines.index(header))]
    assert [line.split()[1:3] for line in table] == [
        ["gpt-4o-mini", "1"],
        ["my-ft", "1"],
        ["gpt-4o-mini", "2"],
        ["my-ft", "2"],
    ]
    assert "Scenario keys: in=" in out and "meets latency=5000ms" in out
    assert out.count(": 2 wrong answer") == 2  # each API run: 2 of its 8 answers wrong
    assert "Next: breakeven analyze in=" in out


def test_a_progress_bar_only_on_a_terminal(fakes, tmp_path):
    own = fakes(models=("m",), out_tokens=5)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal has a size
    process = subprocess.Popen(
        [sys.executable, "-m", "breakeven", "measure", "--endpoint", own.url, "--model", "m", "--requests", "6"],
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=tmp_path,
        env=clean_env(),
    )
    os.close(follower)
    seen = bytearray()

    def read() -> None:  # drain the terminal while the process runs, or a full buffer would block it
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out, _ = process.communicate(timeout=60)
    reader.join(timeout=5)
    os.close(leader)
    assert process.returncode == 0
    assert b"c=8" in seen and b"req" in seen  # tqdm drew on the terminal...
    assert b"c=8" not in out and b"Scenario keys" in out  # ...and the table went to stdout alone


def test_analyze_runs_the_analysis_on_the_measured_figures(fakes, tmp_path):
    _, _, result = side_by_side(fakes, tmp_path, "gpu=l4", "--json", "--analyze", "volume=2M/month fail_cost=$2")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    report, figures = data["analysis"], data["figures"]
    # The measured tokens carried the volume; the API model and the GPU measured were used.
    assert report["tokens_per_month"] == pytest.approx(2e6 * (figures["in_tokens"] + figures["out_tokens"]))
    assert report["api_price"]["model"].startswith("gpt-4o-mini")
    assert report["failure"]["fail_api"] == figures["fail_api"] and report["failure"]["fail_cost"] == 2
    assert report["capacity"]["source"] == "measured" and report["capacity"]["gpu_id"] == "l4"
    assert report["capacity"]["output_tok_s"] == pytest.approx(figures["capacity_tok_s"])
    measured = {a["key"] for a in report["assumptions"] if a["measured"]}
    assumed = {a["key"] for a in report["assumptions"] if not a["measured"]}
    assert measured == {"in", "out", "ft_in", "capacity", "fail_api", "fail_ft"}
    assert not assumed & {"in", "out", "gpu"}  # capacity shows again as the requests/s it means
    provenance = data["analysis_provenance"]
    assert set(provenance) == {"in_tokens", "out_tokens", "ft_in_tokens", "capacity_tok_s", "fail_api", "fail_ft"}
    assert all(v.startswith("measured this run on 20") for v in provenance.values())
    text = side_by_side(fakes, tmp_path, "--analyze", "volume=2M/month in=900")[2].stdout
    marked = "capacity_tok_s, fail_api, fail_ft, ft_in_tokens, out_tokens"  # in= was typed: it wins
    assert f"Analysis with the measured figures (measured: {marked})" in text


def test_save_then_analyze_measured_name_in_another_process(fakes, tmp_path):
    _, _, first = side_by_side(fakes, tmp_path, "gpu=l4", "--save", "support-nov")
    assert first.returncode == 0, first.stderr
    assert "Saved as 'support-nov': use measured=support-nov in any analysis." in first.stdout
    synthetic = ["measure", "--endpoint", fakes(models=("m",)).url, "--model", "m", "--requests", "2", "--json"]
    # synthetic prompts measure speed only: the own endpoint's capacity and the latency it came with
    figures = json.loads(breakeven(*synthetic, cwd=tmp_path).stdout)["figures"]
    assert figures.keys() == {"capacity_tok_s", "ft_latency_ms", "ft_ttft_ms"}
    assert figures["ft_latency_ms"] >= figures["ft_ttft_ms"] >= 50  # the fake waits 50 ms before its first token

    words = ["measured=support-nov", "volume=1M/month", "api=gpt-4o-mini", "fail_cost=$2"]
    analysis = breakeven("analyze", *words, "--json", cwd=tmp_path)
    assert analysis.returncode == 0, analysis.stderr
    report = json.loads(analysis.stdout)
    marked = {a["key"]: a["note"] for a in report["assumptions"] if a["measured"]}
    assert marked.keys() == {"in", "out", "ft_in", "capacity", "fail_api", "fail_ft", "gpu"}  # api= was typed
    assert set(marked.values()) == {f"measured support-nov on {report_date(tmp_path)}"}
    assert report["failure"]["fail_api"] == pytest.approx(0.25)
    # The measurement also says which API and which GPU were measured: nothing to type again.
    untyped = json.loads(breakeven("analyze", "measured=support-nov", "volume=1M/month", "--json", cwd=tmp_path).stdout)
    assert untyped["api_price"]["model"] == "gpt-4o-mini"
    assert untyped["capacity"]["gpu_id"] == "l4"
    assert {a["key"] for a in untyped["assumptions"] if a["measured"]} >= {"api", "gpu"}
    # Typed keys win over the measured ones.
    typed = json.loads(breakeven("analyze", *words, "in=100", "out=10", "--json", cwd=tmp_path).stdout)
    assert typed["tokens_per_month"] == pytest.approx(1e6 * 110)

    again = breakeven(*synthetic[:-1], "--save", "support-nov", cwd=tmp_path)
    assert f"Saved as 'support-nov' (replaced the one measured on {report_date(tmp_path)})" in again.stdout

    unknown = breakeven("analyze", "measured=support-dec", "volume=1M", cwd=tmp_path)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "`measured`: no saved measurement is called 'support-dec'; saved: `support-nov`" in unknown.stderr
    elsewhere = breakeven("analyze", "measured=support-nov", "volume=1M", cwd=tmp_path / "..")
    assert elsewhere.returncode == 2 and "there is no database at breakeven.db" in elsewhere.stderr
    assert not (tmp_path / ".." / "breakeven.db").exists()


def report_date(tmp_path: Path) -> str:
    import sqlite3

    with sqlite3.connect(tmp_path / "breakeven.db") as db:
        return db.execute("SELECT date FROM measurements WHERE name = 'support-nov'").fetchone()[0]


@pytest.mark.parametrize(
    "setup, args, env, words",
    [
        (None, ["--endpoint", "http://127.0.0.1:9/v1", "--model", "m"], {}, "cannot reach http://127.0.0.1:9/v1"),
        ({"mode": "html"}, ["--model", "m"], {}, "answered GET /models with text/html, not JSON"),
        ({"models": ("small",)}, ["--model", "large"], {}, "has no model 'large'; it serves: small"),
        (None, ["--api", "gpt-4o-mini"], {}, "OPENAI_API_KEY is not set"),
        (None, ["--endpoint", "http://127.0.0.1:9/v1"], {}, "--endpoint needs --model NAME"),
        ({}, ["--model", "small", "volume=2M"], {}, "`volume`: measure takes in, out, gpu"),
        ({}, ["--model", "small", "--key-env", "NOPE_KEY"], {}, "--key-env: NOPE_KEY is not set"),
        ({}, ["--model", "small", "--concurrency", "1,500"], {}, "--concurrency: each level must be 1 to 128"),
        ({"models": ("small",), "error_every": 1, "error_status": 401}, ["--model", "small", "--key-env", "K"],
         {"K": "wrong-key-123456"}, "refused the key (--key-env K): HTTP 401"),
    ],
)  # fmt: skip
def test_what_cannot_be_measured_is_one_line_and_exit_2(fakes, tmp_path, setup, args, env, words):
    if setup is not None:
        args = ["--endpoint", fakes(**setup).url, *args]
    result = breakeven("measure", *args, "--requests", "2", cwd=tmp_path, env=clean_env(**env))
    assert result.returncode == 2, result.stdout
    first, *rest = result.stderr.strip().splitlines()
    assert words in first and first.startswith("breakeven: ")
    assert rest == [] or (setup == {} and rest[0].startswith("Example that works"))  # bad keys show an example
    assert result.stdout == "" and "wrong-key-123456" not in result.stderr


def test_ctrl_c_stops_cleanly_and_prints_what_was_measured(fakes, tmp_path):
    slow = fakes(models=("m",), ttft=0.05, token_delay=0.05, out_tokens=30)  # 1.5 s an answer
    args = ["--endpoint", slow.url, "--model", "m", "--requests", "40", "--concurrency", "2", "--save", "half"]
    process = subprocess.Popen(
        [sys.executable, "-m", "breakeven", "measure", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        # As at a terminal: a background job (CI may be one) inherits SIGINT ignored, and Python then
        # installs no KeyboardInterrupt handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while slow.completed < 5 and time.monotonic() < deadline:  # the warm-up and four measured answers
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    row = next(line for line in out.splitlines() if line.startswith("127.0.0.1"))
    sent, ok = (int(x) for x in row.split()[3:5])
    assert 2 <= ok == sent < 40  # answers in flight at Ctrl-C are dropped, not counted as failures
    assert "Stopped early (interrupted)" in out and "Not saved: the run was interrupted." in out
    assert not (tmp_path / "breakeven.db").exists()


def test_keys_are_never_printed_or_stored(fakes, tmp_path):
    own = fakes(models=("m",))
    env = clean_env(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fakes(models=("gpt-4o-mini",)).url, OWN_KEY="own-SECRET-99")
    args = ["--api", "gpt-4o-mini", "--endpoint", f"{own.url}?key=QUERY-SECRET", "--model", "m", "--key-env", "OWN_KEY"]
    result = breakeven(
        "measure", *args, "--requests", "2", "--concurrency", "1", "--save", "s", "--json", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("breakeven.db*"))
    for secret in (API_KEY, "own-SECRET-99", "QUERY-SECRET"):
        assert secret not in result.stdout + result.stderr
        assert secret.encode() not in stored
    assert {r["authorization"] for r in own.requests} == {"Bearer own-SECRET-99"}
    assert json.loads(result.stdout)["runs"][1]["endpoint"] == own.url


def test_the_cli_module_imports_no_openai_until_it_measures():
    probe = "import sys, breakeven.cli; breakeven.cli._parser(); print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=clean_env())
    assert out.stdout.strip() == "False", out.stderr
