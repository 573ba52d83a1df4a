"""`breakeven ask "TEXT" [--json] [--yes]`: a question in plain words, understood by a chat model.

It prints what was understood, each figure with the words it came from, what was left out (words
not in the message, values the grammar refuses), the keys left to defaults, and the line with the
command that runs it; --yes runs it at once (the analysis, or for a budget asking what it misses,
the hidden-cost audit). The model, its server and its key come from BREAKEVEN_LLM_MODEL,
BREAKEVEN_LLM_BASE_URL and BREAKEVEN_LLM_API_KEY (or OPENAI_API_KEY); without them no request
leaves and the grammar's help is printed. Exit 0 on success, 2 on input that cannot be used, 1 when
the model gave no usable answer (the reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from . import measure_cli


def add_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser(
        "ask",
        help="a question in plain words: a chat model turns it into a scenario you confirm (docs/ask.md)",
        description="Ask in plain words; the model's reading is checked against your words and printed as the "
        "grammar line and the command that runs it. Only your message leaves (keys and tokens masked), to "
        "BREAKEVEN_LLM_MODEL at BREAKEVEN_LLM_BASE_URL (OpenAI's API by default).",
    )
    p.add_argument(
        "text", nargs="+", help='e.g. "40k support tickets a month on gpt-4o, would an 8B on an L4 pay off?"'
    )
    p.add_argument("--json", action="store_true", help="print what was understood (and with --yes the report) as JSON")
    p.add_argument("--yes", action="store_true", help="run the line at once instead of printing the command")
    measure_cli.add_store_options(p)  # measured=NAME in a question reads the saved measurements
    return p


class AskFailed(Exception):
    """The model gave no usable answer (exit 1)."""


def _command(verb: str, line: str, analysis: str = "") -> str:
    words = ["breakeven", verb, *(shlex.quote(pair) for pair in line.split(" ") if pair)]
    if analysis:
        words += ["--analysis", shlex.quote(analysis)]
    return " ".join(words)


def _pairs(line: str) -> list[str]:
    from costcore.grammar import pairs

    return [f"{key}={value}" for key, value in pairs(line)]


def describe(understood, usage=None) -> list[str]:
    """What was understood, for a terminal: the figures with their words, what was left out, the
    defaults, the line and the command."""
    lines = []
    if usage is not None:
        lines.append(f"Read by {usage.line()}.")
    if understood.masked:
        lines.append(f"{understood.masked} key(s) or token(s) in your message were masked before it left.")
    width = max([len(k.pair) for k in understood.kept] + [10]) + 2
    lines.append("Understood from your message:")
    lines += [f"  {k.pair:<{width}}“{k.words}”" for k in understood.kept] or ["  nothing"]
    if understood.dropped:
        lines.append("Not in your message, so left out:")
        lines += [f"  {f'{d.key}={d.value}':<{width}}“{d.words}”" for d in understood.dropped]
    if understood.refused:
        lines.append("Could not be used:")
        lines += [f"  {f'{d.key}={d.value}':<{width}}{d.reason}" for d in understood.refused]
    if understood.runs_audit:
        lines.append(f"Audit lines: {understood.audit_line}")
        lines.append("Run it:")
        lines.append(f"  {_command('audit', understood.audit_line, understood.line)}")
    else:
        from costcore.ask import MAIN_DEFAULTS

        defaults = understood.defaults()
        main = [f"{key} {shown}" for key, shown in defaults if key in MAIN_DEFAULTS]
        if len(main) < len(defaults):
            main.append("the typical one-time and running costs of a fine-tuning project")
        if main:
            lines.append("Left to defaults: " + ", ".join(main) + ".")
        lines.append(f"Line: {understood.line}")
        if understood.intent == "sensitivity":
            lines.append("You asked how the answer moves: the report's sensitivity section says it.")
        lines.append("Run it:")
        lines.append(f"  {_command('analyze', understood.line)}")
        if understood.audit_line:
            lines.append(f"  {_command('audit', understood.audit_line, understood.line)}")
    return lines


def run(args: argparse.Namespace) -> int:
    from bot.llm_client import LLMSettings
    from costcore import GrammarError
    from costcore.ask import Understood, follow_up, is_grammar, typed_changes

    text = " ".join(args.text).strip()
    usage = None
    if is_grammar(text):  # already the grammar: nothing to ask a model
        try:
            understood = Understood(intent="analysis", kept=typed_changes(text))
            follow_up(understood, "")
        except GrammarError as exc:
            print(f"breakeven: {exc}", file=sys.stderr)
            return 2
        if understood.refused:
            print(f"breakeven: `{understood.refused[0].key}`: {understood.refused[0].reason}", file=sys.stderr)
            return 2
    else:
        settings = LLMSettings()
        from bot.redact import remember

        remember(*settings.secrets())  # read from .env too: never in a warning or an error shown
        if not settings.configured:  # no request leaves: the grammar's help, and how to turn asking on
            from costcore.grammar import EXAMPLE, KEYS

            print(
                "breakeven: plain words need a model to read them; type the scenario as key=value pairs:",
                file=sys.stderr,
            )
            print(f"  breakeven analyze {EXAMPLE}", file=sys.stderr)
            for key in KEYS.values():
                print(f"  {key.example:<28} {key.help}", file=sys.stderr)
            print(settings.why_off, file=sys.stderr)
            return 2
        from bot.ask import AskError, understand

        try:
            understood, usage = understand(text, settings)
        except AskError as exc:
            print(f"breakeven: {exc}", file=sys.stderr)
            return 1
    if understood.empty:
        print("\n".join(describe(understood, usage)), file=sys.stderr)
        print("breakeven: no figure in your message could be used; `breakeven keys` lists them all.", file=sys.stderr)
        return 2
    result: dict[str, Any] = {"asked": text, **understood.to_json(), "usage": usage.to_json() if usage else None}
    if args.yes:
        try:
            result.update(_run(understood, args))
        except GrammarError as exc:
            print(f"breakeven: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if not k.startswith("_")}, indent=2))
        return 0
    print("\n".join(describe(understood, usage)))
    if args.yes:
        print()
        print(result["_text"])
    else:
        print("(or run it now: add --yes)")
    return 0


def _run(understood, args: argparse.Namespace) -> dict[str, Any]:
    """The line run at once: the report (or the audit, and the analysis it re-runs), as JSON and text."""
    from costcore import analyze
    from costcore.ask import scenario_of

    if understood.runs_audit:
        from costcore.audit import audited_scenario, run_audit
        from costcore.grammar import parse_audit
        from costcore.text import render_audit

        answers = parse_audit(understood.audit_line)
        audit = run_audit(answers)
        original = audited = None
        if understood.line:
            scenario = measure_cli.resolve(scenario_of(understood.line), args)
            original = analyze(scenario, sheet=getattr(args, "sheet", None))
            audited = analyze(audited_scenario(scenario, answers), sheet=getattr(args, "sheet", None))
        out: dict[str, Any] = {"audit": audit.model_dump(mode="json"), "_text": render_audit(audit, original, audited)}
        if original is not None:
            out["original"], out["audited"] = original.model_dump(mode="json"), audited.model_dump(mode="json")
        return out
    from costcore.text import render

    report = analyze(measure_cli.resolve(scenario_of(understood.line), args), sheet=getattr(args, "sheet", None))
    return {"report": report.model_dump(mode="json"), "_text": render(report)}
