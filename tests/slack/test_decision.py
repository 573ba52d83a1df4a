"""The use case, the growth path, what is not cost and the next step, as the Slack user sees them."""

from bot.form import form_view, read_form
from bot.render import AUDIT, HELP, report_blocks
from costcore import analyze, parse
from costcore.format import money

from .blockkit import check_blocks, check_view
from .test_commands import rows
from .test_form_and_buttons import open_form, state_from, submission


def _sections(blocks):
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def test_the_reply_names_the_use_case_shows_growth_factors_and_ends_with_the_next_step():
    report = analyze(parse("use=support-chatbot volume=2M growth=10%/month horizon=120"))
    blocks = report_blocks(report, 7)
    check_blocks(blocks)
    everything = str(blocks)
    assert "*support-chatbot* use case" in everything
    growth = next(text for text in _sections(blocks) if text.startswith("*Growth*"))
    assert f"pays back in month {report.growth.payback_month}" in growth
    assert f"net {money(report.growth.totals_24.net)}" in growth  # the report's own figure
    beyond = next(text for text in _sections(blocks) if text.startswith("*Beyond cost*"))
    assert all(f"*{f.factor}*" in beyond for f in report.factors)
    # The next step is the last section, right above the buttons (the audit button among them).
    assert _sections(blocks)[-1].startswith(":arrow_right: *Next step*: ")
    assert report.next_step.action in _sections(blocks)[-1]
    actions = next(b for b in blocks if b["type"] == "actions")
    assert blocks.index(actions) == len(blocks) - 2
    assert AUDIT in {e["action_id"] for e in actions["elements"]}


def test_ten_years_of_growth_stay_within_slacks_limits():
    report = analyze(parse("use=subject-tutor growth=100%/month horizon=120 latency=2s privacy=yes oversight=$900"))
    check_blocks(report_blocks(report, 8, chart_note="chart below"))


def test_help_shows_two_use_case_examples_that_parse():
    examples = [line.split("`")[1].removeprefix("/breakeven ") for line in HELP.splitlines() if "use=" in line]
    assert len(examples) == 2 and any("growth=" in e for e in examples)
    for example in examples:
        assert analyze(parse(example)).template is not None


def test_the_form_offers_the_use_cases_at_the_top_and_keeps_the_choice_on_edit():
    view = form_view("C1")
    check_view(view)
    first_input = next(b for b in view["blocks"] if b["type"] == "input")
    assert first_input["block_id"] == "use"
    assert {"support-chatbot", "patient-message-triage"} <= {o["value"] for o in first_input["element"]["options"]}
    edited = form_view("C1", parse("use=ticket-tagging volume=400k"))
    use = next(b for b in edited["blocks"] if b.get("block_id") == "use")
    assert use["element"]["initial_option"]["value"] == "ticket-tagging"
    scenario, text, errors = read_form(state_from(edited)["values"])
    assert errors == {} and (scenario.use, scenario.requests_per_month) == ("ticket-tagging", 400_000)


def test_a_use_case_chosen_in_the_form_is_analysed_and_named(bot_server, slack):
    view = open_form(bot_server, slack)
    state = state_from(view, use="invoice-extraction", volume="")
    status, _ = bot_server.interaction(submission(view, state))
    assert status == 200
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the chart")
    post = slack.called("chat.postMessage")[0]["args"]
    check_blocks(post["blocks"])
    assert "*invoice-extraction* use case" in str(post["blocks"])
    assert rows(bot_server)[0][3].startswith("use=invoice-extraction")
