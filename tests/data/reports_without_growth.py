"""Writes reports_without_growth.json: whole reports of scenarios without growth= or use=.

Run it with the main branch's costcore (before growth existed, or after any change to main that
rightly moves these figures), then test_decision.py holds this branch's reports to them:

    git archive main | tar -x -C /tmp/main && PYTHONPATH=/tmp/main python tests/data/reports_without_growth.py \
        > tests/data/reports_without_growth.json

Prices and capacities are given in each scenario, so no catalogue or serving-model update moves them.
"""

import datetime as dt
import json
import sys

from costcore import analyze, parse

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
SCENARIOS = [
    "volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 setup=1000 maint_h=0",
    "volume=10000 api_price=0.15/0.6 server=$800 capacity=30qps",
    "volume=10000 manual_h=0.5h manual_rate=$50/h server=$800 capacity=30qps setup=20000 oversight=5000 maint_h=4",
    "volume=50000 api_price=0.15/0.6 fail_api=40% fail_ft=3% fail_cost=$0.01 server=400 capacity=10qps",
    "volume=1M api_price=2.5/10 host_price=0.2 prompt_cut=80%",
    "volume=2M/month in=1500 out=200 api_price=2.5/10 server=$900 capacity=20qps peak=3x ha=yes privacy=yes horizon=18",
    "volume=3M api_price=0.15/0.6 server=600 capacity=5qps task=mixed complexity=well-defined",
    "volume=2M api_price=2.5/10 server=800 capacity=10qps task=varied",
    "volume=0 api_price=1/2 server=300 capacity=5qps",
]
if __name__ == "__main__":
    reports = {text: analyze(parse(text), now=NOW).model_dump(mode="json") for text in SCENARIOS}
    json.dump(reports, sys.stdout, indent=1, sort_keys=True)
