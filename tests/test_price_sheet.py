"""Your price sheet: the prices a company pays, each from its date, used by every analysis in place of
list prices, marked as yours, and checked at start with one line naming the file, line and key."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from costcore import analyze, parse
from costcore.grammar import GrammarError
from costcore.price_sheet import PriceSheetError, load
from costcore.price_sheet import parse as parse_sheet
from costcore.prices import find_gpu, gpu_quote, quote_model
from costcore.scenario import HOURS_PER_MONTH

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
SHEET = """\
# what we pay
[[api]]
model = "gpt-4o"
input = 2.00
output = 8.00
cached = 1.00
effective = 2026-10-01
note = "2026 agreement"

[[api]]
model = "gpt-4o"
input = 1.00
output = 4.00
effective = 2027-01-01

[[api]]
model = "gpt-4o"
input = 3.00
output = 12.00
effective = 2026-01-01

[[gpu]]
gpu = "a10g"
mode = "reserved-1y"
price_per_hour = 0.75
effective = 2026-09-01

[[gpu]]
gpu = "h100"
mode = "owned"
purchase = 25000
effective = 2026-01-01
"""
TEXT = "volume=1M/month in=1000 out=100 api=gpt-4o gpu=a10g"


@pytest.fixture
def sheet():
    return parse_sheet(SHEET, "prices.toml")


def assumption(report, key):
    return next(a for a in report.assumptions if a.key == key)


def test_the_newest_price_in_effect_wins_and_a_later_one_waits_for_its_day(sheet):
    today = analyze(parse(TEXT), now=NOW, sheet=sheet)
    # (1000 x $2 + 100 x $8) / 1M = $0.0028 a request; 1M requests = $2,800 a month (list: $3,500).
    assert today.api_cost_per_request == pytest.approx(0.0028)
    assert today.api_monthly_cost == pytest.approx(2800)
    api = assumption(today, "api")
    assert api.source == "your price sheet, effective 2026-10-01: 2026 agreement"
    listed, _ = quote_model("gpt-4o")
    assert f"list ${listed.price_in:g} / ${listed.price_out:g} per 1M" in api.note
    assert (today.api_price.source, today.api_price.date) == ("your price sheet", "effective 2026-10-01")
    in_january = analyze(parse(TEXT), now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC), sheet=sheet)
    assert in_january.api_cost_per_request == pytest.approx((1000 * 1 + 100 * 4) / 1e6)
    before_any = analyze(parse(TEXT), now=dt.datetime(2025, 12, 31, tzinfo=dt.UTC), sheet=sheet)
    assert before_any.api_cost_per_request == pytest.approx((1000 * listed.price_in + 100 * listed.price_out) / 1e6)
    assert "your price sheet" not in (assumption(before_any, "api").source or "")


def test_a_gpu_is_billed_in_the_mode_and_at_the_price_of_your_contract(sheet):
    report = analyze(parse(TEXT), now=NOW, sheet=sheet)
    # one A10G an instance reserved at $0.75 an hour, owed every hour: 730 hours a month = $547.50
    assert report.billing == "reserved-1y"
    assert report.cost_model.instance_monthly == pytest.approx(0.75 * HOURS_PER_MONTH)
    gpu = assumption(report, "gpu_price")
    assert gpu.value == "$0.75/h per NVIDIA A10G, reserved for 1 year (owed for the whole term)"
    assert gpu.source == "your price sheet, effective 2026-09-01"
    listed = gpu_quote("a10g", "reserved-1y")
    assert gpu.note == "reserved-1y price; catalogue " + (f"${listed.price:,.4g}/h" if listed else "none in this mode")
    billing = assumption(report, "billing")
    assert (billing.value, billing.source) == ("reserved-1y", "your price sheet, effective 2026-09-01")
    assert any("commitment is owed for its whole term, 12 months" in n for n in report.notes)
    # Another mode asked for: the catalogue's price in it, and the sheet's entry is named unused.
    always_on = analyze(parse(TEXT + " billing=always-on"), now=NOW, sheet=sheet)
    assert always_on.cost_model.instance_monthly == pytest.approx(gpu_quote("a10g", "always-on").price * 730)
    assert "your price sheet's reserved-1y price for the NVIDIA A10G is not used: billing=always-on is asked for" in (
        always_on.notes
    )
    with pytest.raises(GrammarError, match="your price sheet: reserved-1y \\$0.75/h"):
        analyze(parse(TEXT + " billing=spot"), now=NOW, sheet=sheet)  # in no mode the catalogue or sheet has


def test_an_owned_gpu_is_bought_at_your_sheets_purchase_price(sheet):
    report = analyze(parse("volume=1M/month api=gpt-4o gpu=h100"), now=NOW, sheet=sheet)
    assert report.billing == "owned"
    purchase = assumption(report, "purchase")
    assert purchase.value == "$25,000 an instance (1 x $25,000, the GPUs alone)"
    assert purchase.source == "your price sheet, effective 2026-01-01"
    # $25,000 over the default 36 months, plus the H100's power: depreciation is $694.44 of the month
    assert report.cost_model.instance_monthly == pytest.approx(
        25000 / 36 + find_gpu("h100").watts / 1000 * 1.4 * HOURS_PER_MONTH * 0.12
    )


def test_your_own_figures_in_the_scenario_beat_the_sheet(sheet):
    report = analyze(parse("volume=1M/month in=1000 out=100 api_price=5/20 gpu=a10g gpu_price=$2/h"), now=NOW,
                     sheet=sheet)  # fmt: skip
    assert report.api_cost_per_request == pytest.approx((1000 * 5 + 100 * 20) / 1e6)
    assert report.cost_model.instance_monthly == pytest.approx(2 * HOURS_PER_MONTH)


def test_the_cached_price_comes_from_the_sheet_or_the_share_is_named_unused(sheet):
    cached = analyze(parse(TEXT + " cached=50%"), now=NOW, sheet=sheet)
    assert cached.api_cost_per_request == pytest.approx((500 * 2 + 500 * 1 + 100 * 8) / 1e6)
    later = analyze(parse(TEXT + " cached=50%"), now=dt.datetime(2027, 2, 1, tzinfo=dt.UTC), sheet=sheet)
    assert later.api_cost_per_request == pytest.approx((1000 * 1 + 100 * 4) / 1e6)
    assert any("`cached=` is not used" in n and "no cached-input price" in n for n in later.notes)


def test_the_default_api_model_is_priced_from_the_sheet_too():
    sheet = parse_sheet('[[api]]\nmodel = "gpt-4o-mini"\ninput = 0.1\noutput = 0.4\neffective = 2026-01-01\n')
    report = analyze(parse("volume=1M/month in=1000 out=100"), now=NOW, sheet=sheet)
    assert report.api_cost_per_request == pytest.approx((1000 * 0.1 + 100 * 0.4) / 1e6)
    assert assumption(report, "api").source == "your price sheet, effective 2026-01-01"


# Every kind of mistake in a sheet: the line it is on, the key, and what is wrong.
HEAD = '[[api]]\nmodel = "gpt-4o"\ninput = 2.0\noutput = 8.0\neffective = 2026-10-01\n'
GPU = '[[gpu]]\ngpu = "a10g"\nmode = "reserved-1y"\nprice_per_hour = 0.75\neffective = 2026-09-01\n'
MISTAKES = [
    ("[[api]]\ninput = 2.0.0\n", "line 2, column 12: not valid TOML"),
    ("[[api]]\ninput = 2.0\noutput = [\n", "line 3, at the end: not valid TOML"),
    ("[prices]\nx = 1\n", "line 1: unknown section 'prices'"),
    (HEAD.replace("input =", "inptu ="), "line 3: [[api]] #1 inptu: unknown key (did you mean input?)"),
    (HEAD.replace("input = 2.0\n", ""), "line 1: [[api]] #1: 'input' is missing"),
    (HEAD.replace("2.0", '"2.0"'), "line 3: [[api]] #1 input: must be a number"),
    (HEAD.replace("2.0", "true"), "line 3: [[api]] #1 input: must be a number"),
    (HEAD.replace("8.0", "-8.0"), "line 4: [[api]] #1 output: is negative"),
    (HEAD.replace("8.0", "inf"), "line 4: [[api]] #1 output: must be a finite number"),
    (HEAD.replace("8.0", "nan"), "line 4: [[api]] #1 output: must be a finite number"),
    (HEAD.replace("8.0", "1e6"), "line 4: [[api]] #1 output: 1e+06 is more than 1,000"),
    (HEAD.replace("2026-10-01", '"soon"'), "line 5: [[api]] #1 effective: 'soon' is not a day like 2026-10-01"),
    (HEAD.replace("2026-10-01", "2026-10-01T09:00:00"), "line 5: [[api]] #1 effective: must be a day"),
    (HEAD.replace('"gpt-4o"', '"gpt4o-nope"'), "line 2: [[api]] #1 model: 'gpt4o-nope' is not in the price catalogue"),
    (HEAD + HEAD, "line 6: openai:gpt-4o is priced twice from 2026-10-01 (also line 1)"),
    (HEAD + GPU.replace('"a10g"', '"z9000"'), "line 7: [[gpu]] #1 gpu: not in the GPU catalogue: 'z9000'"),
    (HEAD + GPU.replace("reserved-1y", "reserved"), "line 8: [[gpu]] #1 mode: 'reserved' is not a billing mode"),
    (HEAD + GPU.replace("reserved-1y", "owned"), "line 9: [[gpu]] #1 price_per_hour: an owned GPU has a purchase"),
    (HEAD + GPU.replace("price_per_hour", "purchase"), "line 9: [[gpu]] #1 purchase: a purchase price goes with"),
    (HEAD + GPU + GPU, "line 11: a10g reserved-1y is priced twice"),
    ("api = 3\n", "line 1: 'api' must be a list of [[api]] entries"),
    # A key written as a table, a dotted key or a quoted one: the line it is written on, in the entry it is in.
    (HEAD + "[[api.extra]]\nz = 1\n", "line 6: [[api]] #1 extra: unknown key"),
    (HEAD + "[api.extra]\nz = 1\n", "line 6: [[api]] #1 extra: unknown key"),
    (HEAD + "extra.z = 1\n", "line 6: [[api]] #1 extra: unknown key"),
    (HEAD + '[ "api" . "extra" ]\n', "line 6: [[api]] #1 extra: unknown key"),
    (HEAD.replace("input =", '"inptu" ='), "line 3: [[api]] #1 inptu: unknown key (did you mean input?)"),
    (HEAD + HEAD.replace("10-01", "11-01") + "[[api.extra]]\n", "line 11: [[api]] #2 extra: unknown key"),
    (HEAD + GPU + "[gpu.extra]\n", "line 11: [[gpu]] #1 extra: unknown key"),
    # A $0 contract price is a typo far more often than a contract: refused, not priced as free.
    (HEAD.replace("2.0", "0").replace("8.0", "0.0"), "line 3: [[api]] #1 input: input and output are both $0"),
    (HEAD + GPU.replace("0.75", "0"), "line 9: [[gpu]] #1 price_per_hour: is $0"),
    (HEAD + GPU.replace("reserved-1y", "owned").replace("price_per_hour = 0.75", "purchase = 0"),
     "line 9: [[gpu]] #1 purchase: is $0"),
]


@pytest.mark.parametrize("text, words", MISTAKES)
def test_a_mistake_is_one_line_naming_the_file_the_line_and_the_key(text, words):
    with pytest.raises(PriceSheetError) as caught:
        parse_sheet(text, "prices.toml")
    message = str(caught.value)
    assert message.startswith("prices.toml ") and words in message, message
    assert "\n" not in message


def test_a_file_that_is_not_there_is_named(tmp_path):
    with pytest.raises(PriceSheetError, match=r"nope\.toml: no such file"):
        load(tmp_path / "nope.toml")


def breakeven(*args, env=None, cwd=None):
    import os

    environment = {k: v for k, v in os.environ.items() if k != "BREAKEVEN_PRICE_SHEET"} | (env or {})
    return subprocess.run([sys.executable, "-m", "breakeven", *args], capture_output=True, text=True, timeout=120,
                          env=environment, cwd=cwd)  # fmt: skip


def test_the_cli_prices_with_the_sheet_from_the_option_or_the_setting(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(SHEET.replace("2027-01-01", "2099-01-01"))
    by_option = breakeven("analyze", *TEXT.split(), "--json", "--price-sheet", str(path))
    assert by_option.returncode == 0, by_option.stderr
    report = json.loads(by_option.stdout)
    assert report["api_cost_per_request"] == pytest.approx(0.0028)
    by_setting = breakeven("analyze", *TEXT.split(), env={"BREAKEVEN_PRICE_SHEET": str(path)})
    assert "[your price sheet, effective 2026-10-01: 2026 agreement]" in by_setting.stdout
    (tmp_path / ".env").write_text(f"BREAKEVEN_PRICE_SHEET={path}\n")
    by_dotenv = breakeven("audit", "--analysis", TEXT, "--json", cwd=tmp_path)
    assert json.loads(by_dotenv.stdout)["original"]["api_cost_per_request"] == pytest.approx(0.0028)


def test_the_cli_refuses_a_wrong_sheet_in_one_line_with_status_2(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(HEAD.replace("8.0", "-8.0"))
    result = breakeven("analyze", "volume=1M", "--price-sheet", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"breakeven: --price-sheet {path} line 4: [[api]] #1 output: is negative (-8); give $ per 1M tokens of "
        'output; e.g. model = "gpt-4o", input = 2.00, output = 8.00, effective = 2026-10-01'
    ]
    from_setting = breakeven("prices", "gpt", env={"BREAKEVEN_PRICE_SHEET": str(path)})
    assert from_setting.returncode == 2 and from_setting.stderr.startswith("breakeven: BREAKEVEN_PRICE_SHEET ")


def test_prices_shows_the_list_and_the_sheet_side_by_side(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(SHEET.replace("2027-01-01", "2099-01-01"))
    result = breakeven("prices", "gpt-4o", "--price-sheet", str(path))
    assert result.returncode == 0, result.stderr
    listed, _ = quote_model("gpt-4o")
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("openai:gpt-4o ")}
    assert rows["openai:gpt-4o"][1:] == [f"{listed.price_in:.4g}", f"{listed.price_out:.4g}", "2", "8"]
    lines = result.stdout.splitlines()
    start = lines.index("Your price sheet (prices.toml): 3 API and 2 GPU prices")
    sheet_rows = [line.split() for line in lines[start:]]
    assert ["openai:gpt-4o", f"${listed.price_in:g}", "/", f"${listed.price_out:g}", "$2", "/", "$8", "2026-10-01",
            "in", "effect,", "cached", "$1"] in sheet_rows  # fmt: skip
    assert ["openai:gpt-4o", f"${listed.price_in:g}", "/", f"${listed.price_out:g}", "$1", "/", "$4", "2099-01-01",
            "from", "2099-01-01"] in sheet_rows  # fmt: skip
    assert ["openai:gpt-4o", f"${listed.price_in:g}", "/", f"${listed.price_out:g}", "$3", "/", "$12", "2026-01-01",
            "replaced", "2026-10-01"] in sheet_rows  # fmt: skip
    every = breakeven("prices", "--price-sheet", str(path)).stdout
    assert "a10g reserved-1y" in every and "$0.75/h" in every and "h100 owned" in every and "$25,000 a GPU" in every


def test_a_gpus_contract_is_the_sheets_own_mode_or_the_one_asked_for(sheet):
    two = parse_sheet(
        SHEET + '[[gpu]]\ngpu = "a10g"\nmode = "always-on"\nprice_per_hour = 0.9\neffective = 2026-09-01\n'
    )
    day = NOW.date()
    chosen, unused = two.gpu_contract("a10g", day)  # no mode asked: the first of the modes, always-on
    assert (chosen.mode, [e.mode for e in unused]) == ("always-on", ["reserved-1y"])
    chosen, unused = two.gpu_contract("a10g", day, mode="reserved-1y")
    assert (chosen.price_per_hour, [e.mode for e in unused]) == (0.75, ["always-on"])
    assert two.gpu_contract("a10g", day, mode="spot")[0] is None
    owned, _ = sheet.gpu_contract("h100", day)
    assert owned.purchase == 25000
    assert sheet.gpu_contract("h100", day, billable=("always-on",)) == (None, [owned])


def test_the_comparison_of_billing_modes_weighs_your_sheets_modes_too(sheet):
    spot = '[[gpu]]\ngpu = "a10g"\nmode = "spot"\nprice_per_hour = 0.30\neffective = 2026-01-01\n'
    report = analyze(parse(TEXT), now=NOW, sheet=parse_sheet(SHEET + spot))
    assert report.billing == "reserved-1y"  # the first of the sheet's modes for the A10G
    (billed,) = [w for w in report.sensitivity.what_ifs if w.name.startswith("Billed ")]
    # the catalogue has no spot price for the A10G: the cheapest other way is the sheet's, $0.30 an hour
    assert (billed.name, billed.detail) == ("Billed spot", "1 x NVIDIA A10G, spot, $0.3/h")
    assert "your price sheet's spot price for the NVIDIA A10G is not used: its reserved-1y price is used" in (
        report.notes
    )


def test_prices_of_a_gpu_shows_the_sheets_entries_for_it(tmp_path):
    """`breakeven prices a10g --price-sheet FILE`: no API model matches, the sheet's A10G prices are shown."""
    path = tmp_path / "prices.toml"
    path.write_text(SHEET)
    result = breakeven("prices", "a10g", "--price-sheet", str(path))
    assert result.returncode == 0, result.stderr
    assert "No token-priced model matches 'a10g'." in result.stdout
    assert "a10g reserved-1y" in result.stdout and "$0.75/h" in result.stdout and "h100" not in result.stdout
    nothing = breakeven("prices", "zz9", "--price-sheet", str(path))
    assert nothing.returncode == 2 and "no token-priced model or entry of your price sheet matches 'zz9'" in (
        nothing.stderr
    )
    assert breakeven("prices", "a10g").returncode == 2  # no sheet: nothing to show


def test_a_zero_price_alone_in_an_api_entry_is_a_real_price():
    sheet = parse_sheet(HEAD.replace("8.0", "0"), "prices.toml")  # an output priced at nothing, input paid
    assert sheet.api[0].price_out == 0 and sheet.api[0].price_in == 2
