"""Your price sheet in Slack: the bot started with BREAKEVEN_PRICE_SHEET prices every analysis with it
(marked in the assumptions), and the form's menus show the prices an analysis will use."""

from __future__ import annotations

import json

from tests.slack.test_edit_form import suggestions

from .conftest import SHEET, make_settings
from .test_recheck import serving

GPU = '\n[[gpu]]\ngpu = "l4"\nmode = "reserved-1y"\nprice_per_hour = 0.55\neffective = 2026-01-01\n'


def test_a_bot_with_a_price_sheet_prices_analyses_and_menus_with_it(slack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "prices.toml"
    path.write_text(SHEET + GPU)
    with serving(make_settings(slack.url, tmp_path, breakeven_price_sheet=path), slack) as server:
        server.command("volume=1M/month in=1000 out=100 api=gpt-4o gpu=l4", channel="C9")
        server.wait_idle()
        verdict = json.dumps(slack.called("chat.postMessage")[0]["args"]["blocks"])
        assert "`api` = openai:gpt-4o $0.5 / $2 per 1M (in/out)" in verdict
        assert "your price sheet, effective 2026-01-01: 2026 agreement" in verdict
        assert "`gpu_price` = $0.55/h per NVIDIA L4, reserved for 1 year (owed for the whole term)" in verdict

        labels = [o["text"]["text"] for o in suggestions(server, "gpt-4o")]
        assert "gpt-4o (openai, yours $0.5/$2)" in labels
        assert any(label.startswith("gpt-4o-mini (openai, $") for label in labels)  # no sheet price: the list's
        server.command("form", channel="C9")
        server.wait_idle()
        (opened,) = slack.called("views.open")
        gpus = next(b for b in opened["args"]["view"]["blocks"] if b.get("block_id") == "gpu")
        options = [o["text"]["text"] for o in gpus["element"]["options"]]
        assert "NVIDIA L4 (yours $0.55/h reserved-1y)" in options
