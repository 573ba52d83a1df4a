"""breakeven's cost core: rent an LLM API per token, or buy (fine-tune and self-host)?

    from costcore import parse, analyze
    report = analyze(parse("volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"))
    report.verdict, report.headline

Pure Python: no Slack, no network, no database; reads only data bundled with the packages.
"""

from .analysis import analyze
from .grammar import GrammarError, parse, to_text
from .prices import PriceError
from .scenario import Report, Scenario

__all__ = ["GrammarError", "PriceError", "Report", "Scenario", "analyze", "parse", "to_text"]
