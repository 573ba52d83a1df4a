"""`breakeven`: the command line face of the cost core.

    breakeven analyze volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g [--json] [--chart FILE]
    breakeven ask "40k support tickets a month on gpt-4o; would an 8B on an L4 pay off?" [--json] [--yes]
    breakeven audit [LINE=HOURS...] [--analysis TEXT] [--json] [--chart FILE]
    breakeven measure [--api MODEL] [--endpoint URL --model NAME] [--prompts FILE.jsonl] [--save NAME]
    breakeven spend import FILE.csv | spend sync openai | weekly [--dry-run] | recheck | check [--dry-run]
    breakeven serving KEY=VALUE... [--json]     # what one instance carries for a request shape
    breakeven keys | schema | prices [FILTER] | gpus | templates [--json]

Exit status 0 on success, 2 on bad input (the message goes to stderr); `check`: 1 when an alert was not posted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import ask_cli, measure_cli, sheet

CHARTS = ("breakeven", "cumulative", "iceberg", "tornado")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep its usage line
        self.print_usage(sys.stderr)
        print(f"breakeven: {message}", file=sys.stderr)
        raise SystemExit(2)


SIZE_HELP = "chart size in pixels, WIDTHxHEIGHT, 400-2400 wide and 225-1500 high (default 800x500)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="breakeven", description="Rent an LLM API per token, or fine-tune and self-host?")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    analyze = commands.add_parser("analyze", help="analyse a scenario given as key=value pairs")
    analyze.add_argument("text", nargs="+", help="e.g. volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g")
    analyze.add_argument("--json", action="store_true", help="print the report as JSON")
    analyze.add_argument("--chart", type=Path, metavar="FILE", help="write a chart to FILE (.png, .svg or .pdf)")
    analyze.add_argument("--chart-type", choices=CHARTS, help="which chart (default breakeven)")
    analyze.add_argument("--size", help=SIZE_HELP)
    measure_cli.add_store_options(analyze)  # measured=NAME reads the saved measurements
    sheet.add_option(analyze)
    sheet.add_option(ask_cli.add_parser(commands))
    sheet.add_option(measure_cli.add_parser(commands))

    audit = commands.add_parser("audit", help="hidden-cost audit of a fine-tuning project, line by line")
    audit.add_argument("text", nargs="*", help="e.g. complexity=medium collect_h=30 evalset_h=15 rate=$90/h runs=5")
    audit.add_argument("--analysis", metavar="TEXT", help="re-run this analysis with the audited costs, side by side")
    audit.add_argument("--json", action="store_true", help="print the audit as JSON")
    audit.add_argument("--chart", type=Path, metavar="FILE", help="write the cost iceberg to FILE (.png, .svg, .pdf)")
    audit.add_argument("--size", help=SIZE_HELP)
    sheet.add_option(audit)

    spend = commands.add_parser("spend", help="real spend: import a CSV or sync the OpenAI costs API")
    spend_actions = spend.add_subparsers(dest="action", required=True, parser_class=_Parser)
    importer = spend_actions.add_parser("import", help="import FILE.csv (generic or OpenAI's cost export)")
    importer.add_argument("file", type=Path)
    syncer = spend_actions.add_parser("sync", help="fetch spend from a provider's API (OPENAI_ADMIN_KEY)")
    syncer.add_argument("provider", choices=["openai"])
    syncer.add_argument("--days", type=int, default=35, help="days back to fetch (default 35)")
    weekly = commands.add_parser("weekly", help="post the weekly spend summary once (or --dry-run to files)")
    weekly.add_argument("--dry-run", action="store_true", help="write the message and chart to --out instead")
    weekly.add_argument("--channel", help="Slack channel id (default: every channel that asked)")
    weekly.add_argument("--out", type=Path, default=Path("."), help="folder for --dry-run files")
    sheet.add_option(weekly)
    recheck = commands.add_parser(
        "recheck", help="re-run every saved decision with today's prices and the volume measured from spend"
    )
    recheck.add_argument("--channel", help="Slack channel id (default: every channel of the team)")
    recheck.add_argument("--json", action="store_true", help="print each decision's re-check as JSON")
    sheet.add_option(recheck)
    check = commands.add_parser("check", help="run the daily budget check now: post the alerts that are due, once")
    check.add_argument("--dry-run", action="store_true", help="print each budget's month and forecast; post nothing")
    for stateful in (importer, syncer, weekly, recheck, check):
        stateful.add_argument(
            "--team",
            default=os.environ.get("BREAKEVEN_TEAM", "default"),
            help="Slack team id the spend belongs to (BREAKEVEN_TEAM)",
        )
        stateful.add_argument("--db", help="SQLite file (BREAKEVEN_DB, default ./breakeven.db)")

    serving = commands.add_parser("serving", help="what one serving instance carries for your request shape")
    serving.add_argument("text", nargs="*", help="e.g. gpu=h100 params=8B in=1500 out=200 latency=2s volume=2M")
    serving.add_argument("--json", action="store_true", help="print the sizing as JSON")

    commands.add_parser("keys", help="list every key of the grammar: its meaning, an example and its range")
    templates = commands.add_parser("templates", help="list the use-case templates to start from (use=NAME)")
    templates.add_argument("--json", action="store_true", help="print the catalogue as JSON, sources included")
    commands.add_parser("schema", help="print the JSON Schema of the grammar's keys")
    prices = commands.add_parser("prices", help="list API prices from the bundled catalogue (and your price sheet)")
    prices.add_argument("filter", nargs="?", default="", help="part of a model or provider name")
    sheet.add_option(prices)
    gpus = commands.add_parser("gpus", help="list the GPU catalogue: each GPU's prices by billing mode")
    gpus.add_argument("--json", action="store_true", help="print every price entry as JSON")
    return parser


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise _BadInput(f"--size: '{text}' is not WIDTHxHEIGHT, e.g. 800x500") from None
    from costcore import charts  # matplotlib: only when a chart is asked for

    try:  # the sizes the charts are laid out for: outside them labels would be dropped unsaid
        charts.check_size(width, height)
    except ValueError as exc:
        raise _BadInput(f"--size: {exc}; e.g. 800x500") from None
    return width, height


class _BadInput(Exception):
    pass


def _chart_options(args: argparse.Namespace) -> tuple[tuple[int, int], str] | None:
    """(size, format) of the chart asked for; None without --chart, where --size or --chart-type
    would shape nothing and is refused rather than dropped."""
    shaping = [
        flag for flag, value in (("--size", args.size), ("--chart-type", getattr(args, "chart_type", None))) if value
    ]
    if not args.chart:
        if shaping:
            verb = "shapes" if len(shaping) == 1 else "shape"
            raise _BadInput(f"{' and '.join(shaping)} {verb} a chart: add --chart FILE, e.g. --chart breakeven.png")
        return None
    return _size(args.size or "800x500"), _chart_format(args.chart)


def _analyze(args: argparse.Namespace) -> int:
    from costcore import GrammarError, analyze, parse
    from costcore.prices import PriceError

    chart = _chart_options(args)
    try:
        report = analyze(measure_cli.resolve(parse(" ".join(args.text)), args), sheet=args.sheet)
    except (GrammarError, PriceError) as exc:
        raise _BadInput(str(exc)) from None
    if chart is not None:
        from costcore import charts

        (width, height), fmt = chart
        draw = getattr(charts, f"{args.chart_type or 'breakeven'}_chart")
        _write(args.chart, charts.render(draw, report, width=width, height=height, fmt=fmt))
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        from costcore.text import render

        print(render(report))
        if args.chart:
            print(f"\nChart written to {args.chart}")
    return 0


def _serving(args: argparse.Namespace) -> int:
    from costcore import GrammarError, parse
    from costcore.buy import SIZING_KEYS, sizing
    from costcore.grammar import pairs

    text = " ".join(args.text)
    try:
        others = [key for key, _ in pairs(text) if key not in SIZING_KEYS]
        if others:
            raise GrammarError(
                others[0],
                f"not a sizing key; `breakeven serving` takes {', '.join(SIZING_KEYS)} "
                "(the whole analysis: `breakeven analyze`)",
                "gpu=h100 params=8B in=1500 out=200",
            )
        result = sizing(parse(text))
    except GrammarError as exc:
        raise _BadInput(str(exc)) from None
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return 0
    c = result
    lines = [
        c.summary,
        "",
        f"  Model                {c.model} at {c.bits}-bit ({c.params_b:g}B parameters)",
        f"  GPUs an instance     {c.gpus_per_instance} x {c.gpu}",
        f"  Memory               {c.weights_gb:,.1f} GB of weights, {c.kv_gb_per_request:,.3f} GB of KV cache "
        f"a request, {c.kv_gb_available:,.1f} GB free for it",
        f"  Requests at once     {c.concurrency:,} (memory and the engine allow {c.max_concurrency:,})",
        f"  First token          {c.ttft_ms:,.0f} ms for {c.in_tokens:,.0f} input tokens",
        f"  Decode               {c.decode_tok_s_per_stream:,.1f} tokens/s a stream; limited by {c.bound}",
        f"  Throughput           {c.output_tok_s:,.0f} output tokens/s, {c.requests_per_s:,.3g} requests/s an instance"
        + (" (your measurement)" if c.source == "measured" else ""),
        f"  Answer               {c.latency_ms:,.0f} ms for {c.out_tokens:,.0f} output tokens",
        f"  Instances at peak    {c.instances} for {c.peak_qps:,.3g} requests/s" + (" (incl. 1 spare)" if c.ha else ""),
    ]
    if c.latency_bound_ms is not None:
        lines.append(f"  Latency bound        {c.latency_bound_ms:,.0f} ms: {'met' if c.meets_latency else 'NOT met'}")
    lines += [f"  - {note}" for note in c.notes]
    print("\n".join(lines))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from costcore import GrammarError, analyze, parse
    from costcore.audit import audited_scenario, run_audit
    from costcore.grammar import parse_audit
    from costcore.prices import PriceError

    chart = _chart_options(args)
    try:
        answers = parse_audit(" ".join(args.text))
        result = run_audit(answers)
        original = audited = None
        if args.analysis:
            scenario = parse(args.analysis)
            original = analyze(scenario, sheet=args.sheet)
            audited = analyze(audited_scenario(scenario, answers), sheet=args.sheet)
    except (GrammarError, PriceError) as exc:
        raise _BadInput(str(exc)) from None
    if chart is not None:
        from costcore import charts

        (width, height), fmt = chart
        _write(args.chart, charts.render(charts.audit_iceberg_chart, result, width=width, height=height, fmt=fmt))
    if args.json:
        data = {"audit": result.model_dump(mode="json")}
        if original is not None:
            data["original"] = original.model_dump(mode="json")
            data["audited"] = audited.model_dump(mode="json")
        print(json.dumps(data, indent=2))
    else:
        from costcore.text import render_audit

        print(render_audit(result, original, audited))
    return 0


def _chart_format(path: Path) -> str:
    formats = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        raise _BadInput(f"--chart: '{path.name}' must end in .png, .svg or .pdf (the file's format follows its name)")
    return fmt


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise _BadInput(f"--chart: cannot write {path}: {exc.strerror}") from None


def _schema() -> int:
    from costcore.grammar import schema

    print(json.dumps(schema(), indent=2))
    return 0


def _keys() -> int:
    from costcore.grammar import ALIASES, KEYS, key_range, units_text

    print(f"{'key':<13} {'example':<26} meaning (range; units)")
    for key in KEYS.values():
        limits = key_range(key.name)
        accepted = units_text(key)
        details = "; ".join(part for part in (limits, accepted) if part)
        print(f"{key.name:<13} {key.example:<26} {key.help}" + (f" ({details})" if details else ""))
    aliases = ", ".join(f"{alias}={target}" for alias, target in sorted(ALIASES.items()))
    print(f"\nAlso accepted: {aliases}.")
    print(
        "Numbers: 10k, 2.5M, $1,200, 80%; rates /day, /month, /h (a day rate is 8 working hours). A money sign goes "
        "only on money, a percentage only on a share. Times take ms, s, min, h, d; `m` alone is refused (minutes, "
        "months or millions?), and so is `/m`."
    )
    return 0


def _templates(as_json: bool) -> int:
    from costcore.format import count
    from costcore.templates import catalogue

    if as_json:
        print(json.dumps([t.model_dump(mode="json") for t in catalogue()], indent=2))
        return 0
    print(f"{'use=':<24} {'requests a month':<22} {'in/out tokens':<14} {'complexity':<13} {'latency':<12} privacy")
    for t in catalogue():
        v = t.volume
        volume = f"{count(v.typical)} ({count(v.low)}-{count(v.high)})"
        privacy = "required" if t.privacy.required else "no"
        print(
            f"{t.name:<24} {volume:<22} {f'{t.in_tokens:g}/{t.out_tokens:g}':<14} {t.complexity:<13} "
            f"{t.latency.need:<12} {privacy}"
        )
        print(f"{'':<24} {t.title}: {t.example}")
        print(f"{'':<24} {t.rationale}")
        for s in t.sources:
            print(f"{'':<24} Source: {s.title} ({s.date}) {s.url}")
    print("\nStart from one and override any figure: breakeven analyze use=support-chatbot volume=2M growth=10%/month")
    return 0


def _prices(filter_text: str, sheet=None) -> int:
    import datetime as dt

    from costcore.prices import _genai_version, list_api_models

    models = list_api_models(filter_text)
    today = dt.datetime.now(dt.UTC).date()
    if not models:
        if not _sheet_matches(sheet, filter_text):  # neither the catalogue nor the sheet: nothing to list
            of_sheet = " or entry of your price sheet" if sheet else ""
            raise _BadInput(
                f"no token-priced model{of_sheet} matches '{filter_text}'; try a shorter filter, e.g. gpt or claude"
            )
        print(f"No token-priced model matches '{filter_text}'.\n")  # a GPU's name, say: the sheet's entries for it
        print("\n".join(_sheet_lines(sheet, filter_text, today)))
        return 0
    yours = f" {'yours in':>9} {'yours out':>9}" if sheet else ""
    print(f"{'model (use as api=...)':<52} {'in $/1M':>9} {'out $/1M':>9}{yours}")
    for m in models:
        tier = "  (tiered)" if m.tiered else ""
        contract = sheet.api_price(m.provider, m.model_id, today) if sheet else None
        mine = f" {contract.price_in:>9.4g} {contract.price_out:>9.4g}" if contract else (" " * 20 if sheet else "")
        print(f"{m.ref:<52} {m.price_in:>9.4g} {m.price_out:>9.4g}{mine}{tier}".rstrip())
    print(f"\n{len(models)} models. Source: genai-prices {_genai_version()} bundled data; list prices in effect today.")
    if sheet:
        print("\n".join(["", *_sheet_lines(sheet, filter_text, today)]))
    return 0


def _sheet_entries(sheet, filter_text: str) -> tuple[list, list]:
    """The sheet's API and GPU entries that `breakeven prices FILTER` lists."""
    needle = filter_text.strip().lower()
    api = [e for e in sheet.api if not needle or needle in e.ref.lower() or needle in e.model.lower()]
    gpus = [e for e in sheet.gpu if not needle or needle in e.gpu]
    return api, gpus


def _sheet_matches(sheet, filter_text: str) -> bool:
    return bool(sheet) and any(_sheet_entries(sheet, filter_text))


def _sheet_lines(sheet, filter_text: str, today) -> list[str]:
    """Every entry of the price sheet beside the catalogue's price, with whether it is in effect."""
    from costcore.prices import PriceError, gpu_quote, quote_model

    lines = [f"Your price sheet ({sheet.name}): {len(sheet.api)} API and {len(sheet.gpu)} GPU prices"]
    api, gpus = _sheet_entries(sheet, filter_text)
    if api:
        lines.append(f"  {'API model':<36} {'list in / out':>18} {'yours in / out':>18}  {'effective':<10}  status")
    for e in sorted(api, key=lambda e: (e.ref, e.effective)):
        try:
            listed, _ = quote_model(e.ref)
            list_price = f"${listed.price_in:g} / ${listed.price_out:g}"
        except PriceError:
            list_price = "not token-priced"
        mine = f"${e.price_in:g} / ${e.price_out:g}"
        cached = f", cached ${e.cache_price:g}" if e.cache_price is not None else ""
        when = e.effective.isoformat()
        lines.append(f"  {e.ref:<36} {list_price:>18} {mine:>18}  {when:<10}  {sheet.status(e, today)}{cached}")
    if gpus:
        lines.append(f"  {'GPU, billing mode':<36} {'catalogue, mode':>18} {'yours':>18}  {'effective':<10}  status")
    for e in sorted(gpus, key=lambda e: (e.gpu, e.mode, e.effective)):
        quote = gpu_quote(e.gpu, e.mode)
        mine = f"${e.purchase:,.0f} a GPU" if e.price_per_hour is None else f"${e.price_per_hour:g}/h"
        if quote is None:
            listed = "none in this mode"
        else:
            listed = f"${quote.price:,.0f} a GPU" if e.mode == "owned" else f"${quote.price:,.4g}/h"
        when = e.effective.isoformat()
        lines.append(f"  {f'{e.gpu} {e.mode}':<36} {listed:>18} {mine:>18}  {when:<10}  {sheet.status(e, today)}")
    if len(lines) == 1:
        lines.append(f"  nothing in it matches '{filter_text}'")
    return lines


def _gpus(as_json: bool) -> int:
    import datetime as dt

    from costcore.prices import MODES, PRICE_MAX_AGE_MONTHS, gpu_quote, list_gpus, list_prices, price_is_stale

    names = {g.id: g.name for g in list_gpus()}
    if as_json:
        entries = [
            {
                "gpu": p.gpu,
                "name": names[p.gpu],
                "mode": p.mode,
                "price_per_hour": p.price_per_hour,
                "purchase_price": p.purchase_price,
                "provider": p.provider,
                "region": p.region,
                "source": p.source,
                "date": p.date,
                "note": p.note,
            }
            for p in list_prices()
        ]
        print(json.dumps(entries, indent=2))
        return 0
    today = dt.date.today()
    heads = {"always-on": "always-on", "reserved-1y": "resv-1y", "reserved-3y": "resv-3y", "spot": "spot",
             "serverless": "serverless", "owned": "owned $"}  # fmt: skip
    print(f"{'gpu':<15} {'VRAM':>5} {'GB/s':>5} {'TFLOPs':>7} " + " ".join(f"{heads[m]:>10}" for m in MODES))
    for g in list_gpus():
        cells = []
        for mode in MODES:
            quote = gpu_quote(g.id, mode)
            if quote is None:
                cells.append("-")
                continue
            figure = f"{quote.price:,.0f}" if mode == "owned" else f"{quote.price:.3f}"
            few = len(quote.entries)
            cells.append(figure if few >= 3 else f"{figure} ({few})")
        specs = f"{g.id:<15} {g.vram_gb:>4g}G {g.bandwidth_gb_s:>5g} {g.tflops_16:>7g} "
        print(specs + " ".join(f"{c:>10}" for c in cells))
    print(
        "\n$ a GPU-hour (owned: the purchase price), the median of the providers below; (n): only n quotes were "
        "found, so the figure is the median of n (one: that quote alone). Each price is billed in its own mode only "
        "(billing=); '-': none sourced, give gpu_price=. TFLOPs: dense 16-bit tensor."
    )
    print("\nEvery price, with its provider, source and date:")
    old = f" (older than {PRICE_MAX_AGE_MONTHS} months)"
    for p in list_prices():
        figure = f"${p.purchase_price:,.0f}" if p.mode == "owned" else f"${p.price_per_hour:g}/h"
        where = f", {p.region}" if p.region else ""
        dated = p.date + (old if price_is_stale(p.date, today) else "")
        print(f"{p.gpu:<15} {p.mode:<11} {figure:>9}  {p.provider}{where}; {dated}; {p.source}")
    return 0


def _configure_logging() -> None:
    """Warnings from the libraries below (the HTTP clients, the SDKs) on stderr, every one redacted:
    the keys this command reads from the environment are remembered before any request is made."""
    import logging

    from bot.redact import quiet_http_clients, redacting_handler, remember

    names = ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY", "OPENAI_BASE_URL", "BREAKEVEN_LLM_API_KEY", "BREAKEVEN_LLM_BASE_URL")
    remember(*(os.environ.get(name) for name in names))
    root = logging.getLogger()
    if not any(getattr(handler, "breakeven_cli", False) for handler in root.handlers):  # main() runs again in tests
        handler = redacting_handler(fmt="breakeven: %(levelname)s %(name)s: %(message)s")
        handler.breakeven_cli = True
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    quiet_http_clients()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        if hasattr(args, "price_sheet"):  # the commands that price: checked before anything runs
            try:
                args.sheet = sheet.load(args)
            except ValueError as exc:
                raise _BadInput(str(exc)) from None
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "ask":
            return ask_cli.run(args)
        if args.command == "measure":
            return measure_cli.run(args)
        if args.command in ("spend", "weekly", "recheck", "check"):
            from .state import run  # the stateful commands: the database and the network, through bot/

            return run(args)
        if args.command == "audit":
            return _audit(args)
        if args.command == "schema":
            return _schema()
        if args.command == "keys":
            return _keys()
        if args.command == "templates":
            return _templates(args.json)
        if args.command == "serving":
            return _serving(args)
        if args.command == "prices":
            return _prices(args.filter, args.sheet)
        return _gpus(args.json)
    except _BadInput as exc:
        print(f"breakeven: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `breakeven prices | head`: the reader left; that is not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
