"""bench/eval_ask.py runs against a fake OpenAI-compatible server and scores it key by key."""

import json
import os
import subprocess
import sys
from pathlib import Path

from .fake_model import FakeModel

ROOT = Path(__file__).resolve().parents[2]
PHRASINGS = json.loads((ROOT / "tests" / "data" / "ask_phrasings.json").read_text())


def _keys(truth: dict) -> set[str]:
    """The keys a correct reading sets: those of its scenario line and of its audit lines."""
    from costcore import parse
    from costcore.grammar import key_for_field, pairs

    fields = parse(truth["line"]).model_dump(exclude_none=True, exclude={"provenance"}) if truth["line"] else {}
    return {key_for_field(f) for f in fields} | {key for key, _ in pairs(truth.get("audit", ""))}


def run_eval(fake: FakeModel, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FAKE_KEY": "sk-eval-key"}
    command = [sys.executable, str(ROOT / "bench" / "eval_ask.py"), "--base-url", fake.url, "--model", "gpt-4o-mini"]
    return subprocess.run(
        [*command, "--key-env", "FAKE_KEY", *args], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )


def test_the_eval_scores_the_recorded_model_key_by_key_with_tokens_and_cost():
    fake = FakeModel(models=("gpt-4o-mini",))
    try:
        result = run_eval(fake)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        # The recorded answer for "About 10k requests a day" invents 100k: the checks drop it, and the
        # evaluation counts the volume a correct reading would have given as missed.
        expected = len(PHRASINGS)
        keys = sum(len(_keys(case.get("truth") or case["expect"])) for case in PHRASINGS)
        assert f"questions: {expected}, answered: {expected}" in out
        assert f"accuracy: {(keys - 1) / keys:.1%} ({keys - 1}/{keys} keys right; 0 wrong, 1 missed, 0 extra)" in out
        assert "    missed: volume" in out
        assert "tokens a question:" in out and "cost a question: $0.000" in out and "latency a question: p50" in out
        assert len(fake.chats()) == expected
        assert {r["headers"]["authorization"] for r in fake.chats()} == {"Bearer sk-eval-key"}
        assert "sk-eval-key" not in out + result.stderr

        summary = json.loads(run_eval(fake, "--json").stdout)["summary"]
        assert (
            summary["keys_right"] == keys - 1 and summary["keys_expected"] == keys and summary["exact"] == expected - 1
        )
    finally:
        fake.close()


def test_a_model_that_answers_nothing_usable_scores_zero_and_says_why():
    fake = FakeModel(models=("gpt-4o-mini",))
    fake.then(*["refuse"] * len(PHRASINGS))
    try:
        result = run_eval(fake)
        assert result.returncode == 1
        assert f"answered: 0, errors: {{'refusal': {len(PHRASINGS)}}}" in result.stdout
        assert "accuracy: 0.0%" in result.stdout
    finally:
        fake.close()
