"""Whether a customer's SMS reply asks to opt out: pure, shared by every SMS gateway.

A reply opts out when one of the opt-out entries (a setting) appears in it as whole words.
Both sides are compared as *words*: the text is folded (case-insensitive, accents dropped:
"STÖP" and "Stop" are "stop") and cut at everything that is not a letter or a digit. So:

- "please stop", "pls STOP thx", "Stop!" and "ÉND" opt out; "stopped", "backend" and
  "nonstop" do not (a word must match whole, never a part of one);
- a multi-word entry matches the same words in a row, whatever separates them: the entry
  "opt out" matches "opt out", "Opt-Out" and "OPT_OUT" ("optout" is its own entry);
- an opt-out word anywhere wins, even in "don't stop": wrongly keeping a number that asked to
  be left alone is the costly mistake, a wrongly listed number only costs a contact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

DEFAULT_OPT_OUT_WORDS: tuple[str, ...] = (
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "opt out",
    "optout",
    "arret",  # French "arrêt", recognised before the list became a setting
)
MAX_ENTRY_CHARS = 40
MAX_ENTRY_WORDS = 4
MAX_ENTRIES = 100

_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script
# What an entry may be: words separated by one space or hyphen ("opt out", "opt-out").
_ENTRY = re.compile(r"[^\W_]+(?:[ -][^\W_]+)*")


def words(text: str) -> tuple[str, ...]:
    """The text's words, folded: lower case (``casefold``), accents and other combining
    marks dropped after a compatibility decomposition (so "ﬁn" is "fin", "É" is "e")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return tuple(_WORD.findall(plain))


def check_entry(entry: str) -> str:
    """An opt-out entry as stored (trimmed, inner spaces collapsed); ``ValueError`` saying
    what is wrong with it otherwise."""
    cleaned = " ".join(entry.split())
    if not cleaned:
        raise ValueError("an opt-out word cannot be empty")
    if len(cleaned) > MAX_ENTRY_CHARS:
        raise ValueError(f"{cleaned[:20]!r}… is longer than {MAX_ENTRY_CHARS} characters")
    if not _ENTRY.fullmatch(cleaned):
        raise ValueError(
            f"{cleaned!r} must be letters or digits, its words separated by a space or a hyphen"
        )
    if len(words(cleaned)) > MAX_ENTRY_WORDS:
        raise ValueError(f"{cleaned!r} has more than {MAX_ENTRY_WORDS} words")
    return cleaned


def duplicates(entries: Sequence[str]) -> list[tuple[int, str]]:
    """(index, message) for each entry that repeats an earlier one once folded."""
    seen: dict[tuple[str, ...], int] = {}
    found = []
    for i, entry in enumerate(entries):
        key = words(entry)
        if key in seen:
            found.append((i, f"{entry!r} repeats {entries[seen[key]]!r}"))
        else:
            seen[key] = i
    return found


class OptOutWords:
    """The opt-out entries, folded once; ``matches`` is then a scan of the reply's words."""

    def __init__(self, entries: Iterable[str] = DEFAULT_OPT_OUT_WORDS) -> None:
        phrases = {words(e) for e in entries}
        self._phrases = frozenset(p for p in phrases if p)
        self._longest = max((len(p) for p in self._phrases), default=0)

    def matches(self, text: str) -> bool:
        """Whether the reply contains one of the entries as whole words, in a row."""
        found = words(text)
        for start in range(len(found)):
            for size in range(1, min(self._longest, len(found) - start) + 1):
                if found[start : start + size] in self._phrases:
                    return True
        return False


def is_opt_out(text: str, entries: Iterable[str] = DEFAULT_OPT_OUT_WORDS) -> bool:
    """Whether ``text`` opts out under these entries (see the module's rules)."""
    return OptOutWords(entries).matches(text)
