"""Opt-out replies: the configured words anywhere in a reply, as whole words, in any case or
accents (issue 12 item 9). Each expectation is written out by hand, not derived."""

from __future__ import annotations

import pytest

from outbound.dnc.optout import DEFAULT_OPT_OUT_WORDS, check_entry, duplicates, is_opt_out


@pytest.mark.parametrize(
    "reply",
    [
        "STOP",
        "stop",
        "Stop!",
        "please stop",  # the reply that used to close the contact as SMS responded
        "pls STOP thx",
        "Please, stop texting me.",
        "STÖP",
        "ÉND",
        "end.",
        "I want to unsubscribe",
        "UNSUBSCRIBE me",
        "cancel",
        "quit",
        "Revoke consent",
        "stopall",
        "opt out",
        "Opt-Out please",
        "OPT_OUT",
        "opt   out",
        "optout",
        "Arrêt",
        "\uff53\uff54\uff4f\uff50",  # full-width "stop" folds to the plain word
        "ok\nstop",
    ],
)
def test_these_replies_opt_out(reply: str) -> None:
    assert is_opt_out(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "Yes please",
        "stopped",  # a word that begins with an opt-out word is not one
        "backend",  # nor one that ends with it
        "nonstop",
        "endless",
        "cancellation",
        "quite",
        "opt in",
        "out opt",
        "option out",
        "s t o p",
        "st0p",
    ],
)
def test_these_replies_do_not(reply: str) -> None:
    assert not is_opt_out(reply)


def test_only_the_configured_words_count() -> None:
    words = ["halt", "no more"]
    assert is_opt_out("HALT now", words)
    assert is_opt_out("No-More texts", words)
    assert not is_opt_out("please stop", words)
    assert not is_opt_out("no", words)
    assert not is_opt_out("anything", [])


def test_the_default_list_is_the_issues() -> None:
    issue = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "opt out"}
    assert issue | {"optout"} <= set(DEFAULT_OPT_OUT_WORDS)


@pytest.mark.parametrize(
    ("entry", "stored"),
    [("  STOP ", "STOP"), ("opt   out", "opt out"), ("opt-out", "opt-out"), ("Arrêt", "Arrêt")],
)
def test_an_entry_is_trimmed(entry: str, stored: str) -> None:
    assert check_entry(entry) == stored


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("x" * 41, "longer than 40 characters"),
        ("st*p", "letters or digits"),
        ("stop!", "letters or digits"),
        ("-stop", "letters or digits"),
        ("a b c d e", "more than 4 words"),
    ],
)
def test_a_bad_entry_says_why(entry: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_entry(entry)


def test_a_repeated_entry_is_named_once_folded() -> None:
    assert duplicates(["stop", "opt out", "STOP", "Opt-Out", "end"]) == [
        (2, "'STOP' repeats 'stop'"),
        (3, "'Opt-Out' repeats 'opt out'"),
    ]
