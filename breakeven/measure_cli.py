"""`breakeven measure`: a parallel test of the provider's API and your own OpenAI-compatible server.

    breakeven measure --api gpt-4o-mini --endpoint http://127.0.0.1:8000/v1 --model my-ft \\
        --prompts support.jsonl --requests 60 --concurrency 1,8,32 gpu=l4 latency=3s \\
        --save support-nov --analyze "volume=2M/month"
    breakeven analyze measured=support-nov volume=2M/month api=gpt-4o-mini gpu=l4

The engine and the storage live in bot/measure.py; this module reads the flags, shows progress
(tqdm, on a terminal only), prints the table and reuses the figures. Exit 0 on success, 2 on bad
input or an endpoint that cannot be measured (one line on stderr), 130 when Ctrl-C stopped it
(what was measured is still printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

# The keys a measurement takes: the shape of synthetic prompts, the hardware behind the endpoint,
# and the latency bound the chosen concurrency must meet.
SHAPE_FIELDS = {"in_tokens", "out_tokens", "gpu", "gpus", "gpu_price", "latency_ms"}
SHAPE_EXAMPLE = "in=1500 out=200 gpu=l4 gpus=1 latency=2s"


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--team",
        default=os.environ.get("BREAKEVEN_TEAM", "default"),
        help="Slack team id the measurements belong to (BREAKEVEN_TEAM)",
    )
    parser.add_argument("--db", help="SQLite file (BREAKEVEN_DB, default ./breakeven.db)")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser(
        "measure",
        help="measure the API and/or your own OpenAI-compatible server on your prompts",
        description="Send the same prompts to the provider's API and/or an OpenAI-compatible server "
        "(vLLM, TGI, llama.cpp, Ollama), streaming, at each concurrency; print what was measured "
        "and the scenario keys to reuse.",
    )
    p.add_argument("shape", nargs="*", metavar="KEY=VALUE", help=f"e.g. {SHAPE_EXAMPLE}")
    p.add_argument("--api", metavar="MODEL", help="the provider's API (OPENAI_API_KEY; OPENAI_BASE_URL if set)")
    p.add_argument("--endpoint", metavar="URL", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--model", metavar="NAME", help="the model the endpoint serves (with --endpoint)")
    p.add_argument("--key-env", metavar="VAR", help="environment variable with the endpoint's key (default: none)")
    p.add_argument("--prompts", type=Path, metavar="FILE.jsonl", help="one chat request a line (default: synthetic)")
    p.add_argument("--requests", type=int, metavar="N", help="requests per endpoint and level (default: one a line)")
    p.add_argument("--concurrency", default="1,8", metavar="1,8,32", help="concurrency levels (default 1,8)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="seconds a request may take (default 60)")
    p.add_argument("--max-duration", type=float, default=900.0, metavar="S", help="seconds for the whole run (900)")
    p.add_argument("--json", action="store_true", help='print {"runs": [...], ...} as JSON')
    p.add_argument("--save", metavar="NAME", help="save the figures for `analyze measured=NAME`")
    p.add_argument("--analyze", metavar="TEXT", help='analyse with the measured figures, e.g. "volume=2M/month"')
    add_store_options(p)
    return p


class _Bad(Exception):
    pass


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _shape(words: list[str]):
    from costcore import GrammarError, parse
    from costcore.grammar import key_for_field

    try:
        scenario = parse(" ".join(words))
    except GrammarError as exc:
        raise _Bad(str(exc)) from None
    extra = [f for f, v in scenario.model_dump(exclude_none=True).items() if v != {} and f not in SHAPE_FIELDS]
    if extra:
        keys = ", ".join(f"`{key_for_field(f)}`" for f in extra)
        raise _Bad(
            f"{keys}: measure takes in, out, gpu, gpus, gpu_price and latency; "
            f'put the rest of the scenario in --analyze "..."\nExample that works: `{SHAPE_EXAMPLE}`'
        )
    return scenario


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise _Bad(f"--concurrency: '{text}' is not a list of whole numbers like 1,8,32") from None
    if not levels:
        raise _Bad("--concurrency: give at least one level, e.g. 1,8")
    return tuple(dict.fromkeys(levels))


def _endpoints(args: argparse.Namespace) -> list:
    from bot.measure import Endpoint, check_url

    endpoints = []
    if args.api:
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise _Bad("--api: OPENAI_API_KEY is not set (the provider's key is read from it)")
        endpoints.append(
            Endpoint("api", os.environ.get("OPENAI_BASE_URL") or None, args.api, key=key, key_source="OPENAI_API_KEY")
        )
    if args.endpoint:
        if not args.model:
            raise _Bad("--endpoint needs --model NAME: the model the server serves (GET /v1/models lists them)")
        check_url(args.endpoint)
        key, source = None, "no key"
        if args.key_env:
            key = os.environ.get(args.key_env)
            if not key:
                raise _Bad(f"--key-env: {args.key_env} is not set")
            source = f"--key-env {args.key_env}"
        endpoints.append(Endpoint("endpoint", args.endpoint, args.model, key=key, key_source=source))
    elif args.model or args.key_env:
        raise _Bad("--model and --key-env go with --endpoint URL")
    if not endpoints:
        raise _Bad("nothing to measure: give --api MODEL and/or --endpoint URL --model NAME")
    return endpoints


def _plan(args: argparse.Namespace):
    from bot.measure import Options, load_prompts, synthetic_prompts

    shape = _shape(args.shape)
    endpoints = _endpoints(args)
    if args.save is not None and not 1 <= len(args.save.strip()) <= 80:
        raise _Bad("--save: give a name of 1 to 80 characters")
    if args.analyze is not None and "measured=" in args.analyze.replace(" ", ""):
        raise _Bad("--analyze: this run is the measurement; drop measured= from the text")
    if args.prompts:
        if shape.in_tokens is not None or shape.out_tokens is not None:
            raise _Bad("in= and out= shape synthetic prompts: drop them when --prompts gives your own")
        prompts = load_prompts(args.prompts)
    else:
        prompts = synthetic_prompts(shape.in_tokens or 500, shape.out_tokens or 200, args.requests or 20)
    options = Options(
        requests=args.requests,
        concurrency=_levels(args.concurrency),
        request_timeout=args.timeout,
        run_timeout=args.max_duration,
        latency_ms=shape.latency_ms,
        gpu=shape.gpu,
        gpus=shape.gpus or 1,
        gpu_price=shape.gpu_price,
    )
    return shape, endpoints, prompts, options


class _Bar:
    """tqdm on stderr when it is a terminal; nothing otherwise (pipes, CI, --json into jq)."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="req", file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(self, progress) -> None:
        if self.bar is None:
            return
        self.bar.set_description_str(f"{progress.endpoint} c={progress.concurrency}", refresh=False)
        self.bar.set_postfix_str(f"{progress.failed} failed", refresh=False)
        self.bar.update(progress.total_done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _store(db: str | None):
    from bot.measure import MeasurementStore
    from bot.store import Store

    return MeasurementStore(Store(db or os.environ.get("BREAKEVEN_DB") or "breakeven.db"))


def resolve(scenario, args: argparse.Namespace):
    """`analyze measured=NAME ...`: the scenario filled from the saved measurement (GrammarError if unknown)."""
    if scenario.measured is None:
        return scenario
    from costcore import GrammarError
    from costcore.measured import resolve_measured

    path = Path(args.db or os.environ.get("BREAKEVEN_DB") or "breakeven.db")
    if not path.exists():  # do not create an empty database just to say that nothing is in it
        raise GrammarError(
            "measured",
            f"no saved measurement is called '{scenario.measured}': there is no database at {path} "
            "(give --db FILE or BREAKEVEN_DB, or save one with `breakeven measure ... --save NAME`)",
            "measured=support-bot-nov",
        )
    return resolve_measured(scenario, _store(str(path)).all(args.team))


def _analysis(args: argparse.Namespace, shape, result, name: str):
    """Analyse the --analyze text with this run's figures; the API model and the hardware measured
    fill in where the text does not say."""
    from costcore import analyze, parse
    from costcore.grammar import build
    from costcore.measured import apply_measurement
    from costcore.prices import PriceError, quote_model

    scenario = parse(args.analyze)
    values = scenario.model_dump(exclude_none=True)
    given = {k for k, v in values.items() if v not in (None, {})}
    if args.api and not given & {"api_model", "api_price_in", "api_price_blended", "api_per_1k"}:
        try:
            quote_model(args.api)
            values["api_model"] = args.api
        except PriceError:
            pass
    own_host = not given & {"server_monthly", "host_price"}
    for field in ("gpu", "gpus", "gpu_price"):
        if getattr(shape, field) is not None and field not in given and own_host:
            values[field] = getattr(shape, field)
    if shape.latency_ms is not None and "latency_ms" not in given:
        values["latency_ms"] = shape.latency_ms
    scenario = apply_measurement(build(values), result.measurement(name))
    return scenario, analyze(scenario, sheet=getattr(args, "sheet", None))


def run(args: argparse.Namespace) -> int:
    from bot.measure import MeasureError, measure

    try:
        shape, endpoints, prompts, options = _plan(args)
    except (_Bad, MeasureError) as exc:
        print(f"breakeven: {exc}", file=sys.stderr)
        return 2
    per_run = options.requests or min(len(prompts.prompts), options.max_requests)
    bar = _Bar(per_run * len(endpoints) * len(options.concurrency))
    try:
        result = measure(endpoints, prompts, options, progress=bar.update)
    except MeasureError as exc:
        bar.close()
        print(f"breakeven: {_first_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        bar.close()
        print("breakeven: interrupted before anything was measured", file=sys.stderr)
        return 130
    bar.close()
    return _report(args, shape, result, options)


def _report(args: argparse.Namespace, shape, result, options) -> int:
    from bot.measure import capacity_line, run_table, short_label
    from costcore import GrammarError, PriceError
    from costcore.measured import scenario_keys

    saved_note = None
    saved = None
    if args.save:
        if result.stopped:
            saved_note = f"Not saved: the run was {'interrupted' if result.stopped == 'interrupted' else 'cut short'}."
        else:
            replaced = _store(args.db).save(args.team, result, args.save.strip())
            saved = {"name": args.save.strip(), "replaced": replaced}
            again = f" (replaced the one measured on {replaced})" if replaced else ""
            saved_note = f"Saved as '{args.save.strip()}'{again}: use measured={args.save.strip()} in any analysis."
    analysis = scenario = None
    if args.analyze:
        try:
            scenario, analysis = _analysis(args, shape, result, args.save.strip() if saved else "this run")
        except (GrammarError, PriceError) as exc:
            print(f"breakeven: --analyze: {exc}", file=sys.stderr)
            return 2
    data = result.to_json()
    if args.json:
        if saved:
            data["saved"] = saved
        if analysis is not None:
            data["analysis"] = analysis.model_dump(mode="json")
            data["analysis_provenance"] = scenario.provenance
        print(json.dumps(data, indent=2))
    else:
        lines = [f"Measured {result.date}; prompts: {result.prompts.source}"]
        if result.prompts.sha256:
            lines[0] += f", sha256 {result.prompts.sha256[:12]}"
        lines += ["", *run_table(data["runs"]), ""]
        keys = scenario_keys(result.figures)
        lines.append(f"Scenario keys: {keys}" if keys else "Scenario keys: none measured (see the notes)")
        chosen = capacity_line(result, options.latency_ms)
        if chosen:
            lines.append(f"  {chosen}")
        for row in data["runs"]:
            if row["failures"]:
                what = ", ".join(f"{n} {k}" for k, n in row["failures"].items())
                lines.append(f"  failures, {short_label(row)} c={row['concurrency']}: {what}")
        lines += [f"  note: {note}" for note in result.notes]
        if result.stopped:
            lines.append(f"Stopped early ({result.stopped}): the figures cover the requests that finished.")
        if saved_note:
            lines.append(saved_note)
        if analysis is not None:
            from costcore.text import render

            marked = ", ".join(sorted(scenario.provenance)) or "none"
            lines += ["", f"Analysis with the measured figures (measured: {marked})", "", render(analysis)]
        elif keys and not args.save:
            lines.append(f'Next: breakeven analyze {keys} volume=... or --save NAME, or --analyze "volume=..."')
        print("\n".join(lines))
    if result.stopped == "interrupted":
        return 130
    return 0
