"""How well a chat model reads questions in plain words: scored key by key on the phrasings of
tests/data/ask_phrasings.json, through the same path as `breakeven ask` (bot/ask.py: masking, the
schema, validation, the checks against the words, the grammar).

    python bench/eval_ask.py --base-url URL --model NAME [--key-env VAR] [--data FILE] [--json]

Any OpenAI-compatible server: OpenAI's (--base-url https://api.openai.com/v1 --key-env OPENAI_API_KEY),
vLLM, TGI, llama.cpp or Ollama (http://127.0.0.1:11434/v1). Each phrasing is sent once; the key is read
from the environment variable --key-env names and never printed.

For each question: the keys expected (a phrasing's `truth` where the ideal reading differs from the
recorded one, else its `expect`), the keys right, wrong, missed and extra (a figure no one said, kept
because the checks could not tell), whether the intent was right, tokens, cost at the model's list
price (genai-prices; "not in the price catalogue" for a model of your own) and latency. The summary:
accuracy (keys right / keys expected), extra keys, questions read exactly, tokens, cost and latency a
question. Prints figures; asserts nothing (exit 1 only when no question got an answer).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ask import AskError, understand  # noqa: E402
from bot.llm_client import LLMSettings  # noqa: E402
from costcore import parse  # noqa: E402
from costcore.ask import ask_keys  # noqa: E402
from costcore.grammar import key_for_field, pairs  # noqa: E402

DATA = ROOT / "tests" / "data" / "ask_phrasings.json"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def scenario_keys(line: str) -> dict[str, dict]:
    """A scenario line as {key: {field: value}}, fields grouped under the key that sets them."""
    if not line:
        return {}
    values = parse(line).model_dump(exclude_none=True, exclude={"provenance"})
    keys: dict[str, dict] = {}
    for name, value in values.items():
        keys.setdefault(key_for_field(name), {})[name] = value
    return keys


def audit_keys(line: str) -> dict[str, dict]:
    """An audit line as {key: {field: value}}: only the lines it gives (the rest are the audit's defaults)."""
    keys = ask_keys()
    return {name: keys[name].parse(raw) for name, raw in pairs(line)} if line else {}


def score(expected: dict[str, dict], got: dict[str, dict]) -> dict[str, list[str]]:
    right = [k for k in expected if k in got and got[k].keys() == expected[k].keys() and
             all(_same(got[k][f], expected[k][f]) for f in expected[k])]  # fmt: skip
    wrong = [k for k in expected if k in got and k not in right]
    return {
        "right": right,
        "wrong": wrong,
        "missed": [k for k in expected if k not in got],
        "extra": [k for k in got if k not in expected],
    }


def evaluate(case: dict, settings: LLMSettings) -> dict[str, Any]:
    truth = case.get("truth") or case["expect"]
    expected = {**scenario_keys(truth.get("line", "")), **audit_keys(truth.get("audit", ""))}
    result: dict[str, Any] = {"text": case["text"], "expected": len(expected)}
    try:
        understood, usage = understand(case["text"], settings)
    except AskError as exc:
        return {**result, "error": exc.kind, **score(expected, {}), "intent_right": False}
    got = {**scenario_keys(understood.line), **audit_keys(understood.audit_line)}
    return {
        **result,
        **score(expected, got),
        "intent_right": understood.intent == truth.get("intent", "analysis"),
        "line": understood.line,
        "audit_line": understood.audit_line,
        "dropped": [d.key for d in understood.dropped],
        **usage.to_json(),
    }


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def summary(results: list[dict]) -> dict[str, Any]:
    answered = [r for r in results if "error" not in r]
    expected = sum(r["expected"] for r in results)
    right = sum(len(r["right"]) for r in results)
    costs = [r["cost"] for r in answered if r.get("cost") is not None]
    latencies = sorted(r["latency_s"] for r in answered)
    return {
        "questions": len(results),
        "answered": len(answered),
        "errors": {kind: sum(r.get("error") == kind for r in results)
                   for kind in {r.get("error") for r in results} - {None}},
        "keys_expected": expected,
        "keys_right": right,
        "accuracy": right / expected if expected else None,
        "keys_wrong": sum(len(r["wrong"]) for r in results),
        "keys_missed": sum(len(r["missed"]) for r in results),
        "keys_extra": sum(len(r["extra"]) for r in results),
        "exact": sum(not r["wrong"] and not r["missed"] and not r["extra"] and r["intent_right"] for r in results),
        "intent_right": sum(r["intent_right"] for r in results),
        "tokens_in_mean": _mean([r["tokens_in"] for r in answered]),
        "tokens_out_mean": _mean([r["tokens_out"] for r in answered]),
        "cost_mean": _mean(costs) if len(costs) == len(answered) else None,
        "latency_p50_s": latencies[len(latencies) // 2] if latencies else None,
        "latency_p95_s": latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)] if latencies else None,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score a chat model's reading of questions, key by key.")
    parser.add_argument("--base-url", required=True, help="the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", required=True, help="the model name the server knows")
    parser.add_argument("--key-env", help="environment variable holding the server's key (default: none)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the phrasings (default {DATA.relative_to(ROOT)})")
    parser.add_argument("--mode", default="auto", choices=["auto", "json_schema", "json"], help="structured outputs")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a question may take (default 60)")
    parser.add_argument("--json", action="store_true", help="print every question's result and the summary as JSON")
    args = parser.parse_args(argv)
    key = os.environ.get(args.key_env, "") if args.key_env else ""
    settings = LLMSettings(
        breakeven_ask=True,
        breakeven_llm_model=args.model,
        breakeven_llm_base_url=args.base_url,
        breakeven_llm_api_key=key or "no-key",
        breakeven_llm_timeout_s=args.timeout,
        breakeven_llm_mode=args.mode,
    )
    cases = json.loads(args.data.read_text())
    results = [evaluate(case, settings) for case in cases]
    totals = summary(results)
    if args.json:
        print(json.dumps({"model": args.model, "results": results, "summary": totals}, indent=2))
        return 0 if totals["answered"] else 1
    print(f"{'question':<52} {'right':>5} {'exp':>4} {'wrong':>5} {'miss':>4} {'extra':>5}  tokens in/out   cost")
    for r in results:
        text = r["text"] if len(r["text"]) <= 50 else r["text"][:49] + "…"
        if "error" in r:
            tail = r["error"]
        else:
            cost = "-" if r["cost"] is None else f"${r['cost']:.5f}"
            tail = f"{r['tokens_in']:>6}/{r['tokens_out']:<6} {cost}"
        print(f"{text:<52} {len(r['right']):>5} {r['expected']:>4} {len(r['wrong']):>5} {len(r['missed']):>4} "
              f"{len(r['extra']):>5}  {tail}")  # fmt: skip
        for kind in ("wrong", "missed", "extra"):
            if r[kind]:
                print(f"    {kind}: {', '.join(r[kind])}")
    t = totals
    accuracy = "n/a" if t["accuracy"] is None else f"{t['accuracy']:.1%}"
    cost = "not in the price catalogue" if t["cost_mean"] is None else f"${t['cost_mean']:.6f}"
    print()
    print(f"model: {args.model} at {settings.where}")
    print(
        f"questions: {t['questions']}, answered: {t['answered']}" + (f", errors: {t['errors']}" if t["errors"] else "")
    )
    print(f"accuracy: {accuracy} ({t['keys_right']}/{t['keys_expected']} keys right; {t['keys_wrong']} wrong, "
          f"{t['keys_missed']} missed, {t['keys_extra']} extra)")  # fmt: skip
    print(f"questions read exactly: {t['exact']}/{t['questions']}; intent right: {t['intent_right']}/{t['questions']}")
    if t["answered"]:
        print(f"tokens a question: {t['tokens_in_mean']:,.0f} in, {t['tokens_out_mean']:,.0f} out")
        print(f"cost a question: {cost}")
        print(f"latency a question: p50 {t['latency_p50_s']:.2f} s, p95 {t['latency_p95_s']:.2f} s")
    return 0 if t["answered"] else 1


if __name__ == "__main__":
    sys.exit(main())
