"""costcore.ask: the schema from the key table, masking, and the checks a model's answer must pass."""

import json
from pathlib import Path

import pytest

from costcore import ask, grammar, parse, to_text
from costcore.ask import backed, check, find_words, mask_secrets, merge, numbers_in, typed_changes
from costcore.grammar import audit_to_text, parse_audit

from .fake_model import full_answer

PHRASINGS = json.loads((Path(__file__).resolve().parents[1] / "data" / "ask_phrasings.json").read_text())


def canonical(line: str) -> str:
    return to_text(parse(line)) if line else ""


def canonical_audit(line: str) -> str:
    return audit_to_text(parse_audit(line)) if line else ""


# --- the schema -----------------------------------------------------------------------------


def test_every_key_of_the_grammar_and_of_the_audit_is_in_the_schema_with_its_help_and_example():
    schema = ask.json_schema()
    properties = schema["properties"]["figures"]["properties"]
    expected = list(grammar.KEYS) + [k for k in grammar._audit_keys() if k not in grammar.KEYS]
    assert list(properties) == expected
    for name, key in ask.ask_keys().items():
        assert key.help in properties[name]["description"]
        assert key.example.split("=", 1)[1] in properties[name]["description"]
    assert set(ask.understanding_model().model_fields["figures"].annotation.model_fields) == set(expected)


def test_the_schema_is_strict_every_object_closed_and_every_property_required():
    def objects(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for value in node.values():
                yield from objects(value)
        elif isinstance(node, list):
            for value in node:
                yield from objects(value)

    schema = ask.json_schema()
    found = list(objects(schema))
    assert len(found) == 3  # the answer, its figures, a figure
    for node in found:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    assert '"default":' not in json.dumps(schema)


def test_a_key_added_to_the_grammar_is_understood_with_no_more_code(monkeypatch):
    key = grammar.Key(
        "calls", grammar.KEYS["volume"].parse, "calls=3M/month", "API calls a month", ("requests_per_month",)
    )
    monkeypatch.setitem(grammar.KEYS, "calls", key)
    for cached in (ask.ask_keys, ask.understanding_model, ask.json_schema):
        cached.cache_clear()
    try:
        assert "calls" in ask.json_schema()["properties"]["figures"]["properties"]
        understood = check(
            {"figures": {"calls": {"value": "3M/month", "words": "3 million calls a month"}}},
            "We make 3 million calls a month.",
        )
        assert understood.line == "calls=3M/month"
        assert understood.scenario.requests_per_month == 3e6
    finally:
        for cached in (ask.ask_keys, ask.understanding_model, ask.json_schema):
            cached.cache_clear()


# --- what leaves --------------------------------------------------------------------------------

SECRETS = [
    "sk-proj-Ab3dEf6hIj9kLm2nOp5q",
    "sk-ant-api03-abcdefghijklmnopqrstu",
    "xoxb-1234567890-0987654321-AbCdEfGhIjKl",
    "xapp-1-A111-222-abcdef123456",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "AKIAABCDEFGHIJKLMNOP",
    "AIzaSyA1234567890abcdefghijklmnopqrstu",
    "hf_abcdefghijklmnopqrstuvwxyz",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_anything_that_looks_like_a_key_or_token_is_masked(secret):
    masked, count = mask_secrets(f"we have 40k tickets a month, our key {secret} and gpt-4o")
    assert secret not in masked and "[masked]" in masked and count >= 1
    assert "40k tickets a month" in masked and "gpt-4o" in masked  # the figures stay


def test_passwords_bearer_tokens_and_url_credentials_are_masked_but_the_words_around_them_stay():
    text = "password: hunter2hunter, Bearer abc.def.ghi123 at https://bob:s3cret@host/v1?api_key=zz9 ok"
    masked, count = mask_secrets(text)
    for secret in ("hunter2hunter", "abc.def.ghi123", "bob:s3cret", "zz9"):
        assert secret not in masked
    assert masked.startswith("password: [masked]") and "Bearer [masked]" in masked and count >= 4


def test_ordinary_figures_and_names_are_not_masked():
    text = "2M requests a month, gpt-4o-mini, llama-3.1-8b, a100-80gb, $1,200, 99.9%, 1500tok/s, token is 3B/month"
    assert mask_secrets(text) == (text, 0)
    masked, _ = mask_secrets("the bot token is Zq81mXk2Lp, api key: abc123def")
    assert "Zq81mXk2Lp" not in masked and "abc123def" not in masked


# --- finding a figure's words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "words, message",
    [
        ("About 40K Tickets", "we answer about 40k tickets a month"),
        ("1,500 tokens", "prompts of 1500 tokens"),
        ("1.500 Tokens", "Prompts mit 1 500 Tokens"),
        ("“quoted”  words", 'some "quoted" words here'),
        ("aprox 90k requests a mnth", "we get aprox 90k reqests a mnth"),  # a model that fixed a typo
    ],
)
def test_words_are_found_whatever_their_case_spacing_thousands_separators_or_quotes(words, message):
    assert find_words(words, message) is not None


@pytest.mark.parametrize("words", ["an H100", "2M requests", "the manual process"])
def test_words_that_are_not_in_the_message_are_not_found(words):
    assert find_words(words, "we answer about 40k tickets a month on gpt-4o") is None


@pytest.mark.parametrize(
    "text, number",
    [
        ("40k tickets", 40_000),
        ("1,500 tokens", 1500),
        ("1.500 Tokens", 1500),
        ("40 000 requêtes", 40_000),
        ("1'200'000 requests", 1_200_000),
        ("2,00,000 queries", 200_000),
        ("1,5 Mio. Anfragen", 1_500_000),
        ("2,50 $", 2.5),
        ("forty thousand", 40_000),
        ("twelve hundred tokens", 1200),
        ("two and a half million", 2_500_000),
        ("half a million", 500_000),
        ("a dozen GPUs", 12),
        ("an 8-billion-parameter model", 8e9),
        ("30 to 50 thousand", 30_000),
    ],
)
def test_numbers_are_read_in_figures_words_and_other_locales_formats(text, number):
    assert any(abs(n - number) < 1e-6 for n in numbers_in(text))


def test_a_value_is_backed_by_its_words_a_range_middle_or_a_follow_up_factor():
    assert backed("40k/month", "about 40k tickets a month") is None
    assert backed("40k/month", "between 30 and 50 thousand requests") is None  # the middle of the range
    assert backed("400k/month", "about 40k tickets a month") == 400_000
    assert backed("3min", "each takes around 3 minutes") is None
    assert backed("30min", "each takes around 3 minutes") == 30
    assert backed("gpt-4o", "GPT4o") is None  # digits of a name are not figures
    assert backed("120000/month", "three times the volume", current=[40_000]) is None
    assert backed("120000/month", "three times the volume") == 120_000
    assert backed("20000/month", "half the traffic", current=[40_000]) is None


# --- checking an answer -------------------------------------------------------------------------


@pytest.mark.parametrize("case", PHRASINGS, ids=[c["text"][:40] for c in PHRASINGS])
def test_each_recorded_phrasing_gives_its_expected_line_audit_and_drops(case):
    understood = check(full_answer(case["answer"]), case["text"])
    expect = case["expect"]
    assert understood.intent == expect["intent"]
    assert (to_text(understood.scenario) if understood.scenario else "") == canonical(expect["line"])
    assert canonical_audit(understood.audit_line) == canonical_audit(expect.get("audit", ""))
    assert sorted(d.key for d in understood.dropped) == expect["dropped"]
    assert sorted(d.key for d in understood.refused) == expect["refused"]


def test_the_data_covers_what_the_issue_asks_for():
    tags = {tag for case in PHRASINGS for tag in case["tags"]}
    assert len(PHRASINGS) >= 40
    for wanted in ("units in words", "typos", "range", "two models", "teaching: how it is done today",
                   "teaching: sensitivity", "teaching: budget audit", "invented value"):  # fmt: skip
        assert wanted in tags, wanted
    assert sum(tag.startswith("locale") for tag in tags) >= 3


def test_an_invented_figure_is_dropped_and_listed_not_in_your_message():
    understood = check(
        full_answer({"figures": {"volume": ["40k/month", "40k tickets a month"], "gpu": ["h100", "an H100"]}}),
        "We answer 40k tickets a month on gpt-4o.",
    )
    assert understood.line == "volume=40k/month"
    assert [(d.key, d.value, d.reason) for d in understood.dropped] == [("gpu", "h100", "not in your message")]


def test_a_value_cannot_smuggle_in_another_key():
    understood = check(
        full_answer({"figures": {"volume": ["40k/month in=999999", "40k tickets a month"]}}),
        "We answer 40k tickets a month.",
    )
    assert understood.line == "" and understood.dropped[0].reason == "not a value"


def test_the_grammar_refuses_what_it_refuses_and_the_rest_still_parses():
    understood = check(
        full_answer({"figures": {"in": ["5M", "5M tokens"], "volume": ["2k/month", "2k a month"]}}),
        "prompts of 5M tokens, 2k a month",
    )
    assert understood.line == "volume=2k/month"
    assert understood.refused[0].key == "in" and "at most 2M" in understood.refused[0].reason


def test_two_keys_that_say_the_same_thing_keep_the_first_and_name_the_conflict():
    understood = check(
        full_answer({"figures": {"api": ["gpt-4o", "gpt-4o"], "api_price": ["2.5/10", "$2.5 and $10"]}}),
        "gpt-4o at $2.5 and $10 per million",
    )
    assert understood.line == "api=gpt-4o"
    assert understood.refused[0].key == "api_price" and "conflicts with `api`" in understood.refused[0].reason


def test_keys_left_to_defaults_are_listed_and_those_given_another_way_are_not():
    understood = check(
        full_answer({"figures": {"tokens": ["3B/month", "3B tokens a month"], "api_price": ["2/8", "$2 and $8"]}}),
        "3B tokens a month at $2 and $8 per million",
    )
    left = dict(understood.defaults())
    assert "volume" not in left and "api" not in left  # given as tokens= and api_price=
    assert left["gpu"] == "NVIDIA A10G" and left["out"] == "200 tokens"


# --- follow-ups ------------------------------------------------------------------------------------

CURRENT = "volume=40000/month in=1500 out=300 api=gpt-4o gpu=a10g"


def test_a_follow_up_changes_only_the_keys_it_names():
    understood = check(
        full_answer({"figures": {"gpu": ["h100", "an H100"]}}), "what if we used an H100?", current_line=CURRENT
    )
    assert understood.line == CURRENT.replace("gpu=a10g", "gpu=h100").replace(" gpu=h100", "") + " gpu=h100"
    assert [(c.key, c.old, c.new) for c in understood.changes] == [("gpu", "a10g", "h100")]


def test_a_follow_up_may_scale_the_current_figure_by_a_factor_it_names():
    understood = check(
        full_answer({"figures": {"volume": ["120000/month", "three times the volume"]}}),
        "and at three times the volume?",
        current_line=CURRENT,
    )
    assert parse(understood.line).requests_per_month == 120_000
    assert [(c.key, c.old, c.new) for c in understood.changes] == [("volume", "40000/month", "120000/month")]


def test_a_change_replaces_the_keys_that_say_the_same_thing_another_way():
    line, changes = merge("tokens=3B/month api_price=2/8 gpu=l4", typed_changes("volume=2M api=gpt-4o host_price=0.2"))
    assert line == "volume=2M api=gpt-4o host_price=0.2"
    assert [c.replaced for c in changes] == [("tokens=3B/month",), ("api_price=2/8",), ("gpu=l4",)]
    assert [c.old for c in changes] == [None, None, None]


def test_typed_grammar_resolves_aliases_and_unknown_keys_are_errors():
    assert [(k.key, k.value) for k in typed_changes("requests=3M model=gpt-4o")] == [
        ("volume", "3M"),
        ("api", "gpt-4o"),
    ]
    with pytest.raises(grammar.GrammarError):
        typed_changes("volme=3M")


def test_grammar_is_key_value_pairs_from_the_first_word_and_everything_else_is_words():
    assert ask.is_grammar("volume=2M api=gpt-4o")
    assert ask.is_grammar("volume = 2M tokens/day")
    assert not ask.is_grammar("we have volume=2M")
    assert not ask.is_grammar("what if we used an H100?")
    assert not ask.is_grammar("")
