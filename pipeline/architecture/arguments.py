"""One key of params.yaml or argument of a layer type, declared once: its type, default and check.

A typed view of a params.yaml section (a frozen dataclass) declares each key as a field made with
`param`, so the schema that checks the section is read off the view (`keys_of`) rather than
repeated beside it. Checks return what is wrong with a value, or None.
"""

import re
import reprlib
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields

REQUIRED = object()  # an argument's default when it has none
QUOTED = 60  # characters of a bad value quoted in an error message
SHORT = reprlib.Repr()  # bounded as it is built: a nested value never becomes a huge string
SHORT.maxlevel, SHORT.maxlist, SHORT.maxdict = 2, 4, 4
SHORT.maxstring = SHORT.maxlong = SHORT.maxother = QUOTED


def quote(value: object) -> str:
    """A value as text for an error line, at most QUOTED characters: a hostile value may be huge,
    deeply nested or full of line breaks, and is never written out whole."""
    text = "null" if value is None else " ".join(SHORT.repr(value).split())
    return text if len(text) <= QUOTED else text[: QUOTED - 1] + "…"


def key_text(key: object) -> str:
    """A mapping key for an error line: as it is when it is a plain word, else quoted."""
    return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key) else quote(key)


@dataclass(frozen=True)
class Argument:
    """One key of params.yaml or argument of a layer type: its type, default and allowed values.

    `check` returns what is wrong with a value of the right type, or None. `items` says what a
    value holds: a list's items or, for a mapping, its keys (a dict of Arguments, as a section
    of params.yaml) or the value of each name (an Argument, as in a mapping from model names).
    """

    kind: type
    default: object = REQUIRED  # or a function of the arguments before it
    check: Callable[[object], str | None] = lambda value: None
    nullable: bool = False  # whether null is a meaningful value (e.g. "no early stopping")
    items: "Argument | dict[str, Argument] | None" = None


def positive(value: float) -> str | None:
    return None if value > 0 else f"must be positive, got {quote(value)}"


def non_negative(value: float) -> str | None:
    return None if value >= 0 else f"must be zero or positive, got {quote(value)}"


def within(low: float, high: float, closed_low: bool = False, closed_high: bool = False) -> Callable:
    """A check that the value lies in an interval, e.g. (0, 1] for within(0, 1, closed_high=True)."""

    def check(value: float) -> str | None:
        above = value >= low if closed_low else value > low
        below = value <= high if closed_high else value < high
        interval = f"{'[' if closed_low else '('}{low:g}, {high:g}{']' if closed_high else ')'}"
        return None if above and below else f"must be in {interval}, got {quote(value)}"

    return check


@dataclass(frozen=True)
class OneOf:
    """A check that a value is one of a few words; its choices are readable, e.g. by the docs' tests."""

    choices: tuple[str, ...]

    def __call__(self, value: str) -> str | None:
        return None if value in self.choices else f"{quote(value)} is not one of {', '.join(self.choices)}"


def one_of(*choices: str) -> OneOf:
    """A check that a value is one of `choices`, e.g. one_of("valid", "same")."""
    return OneOf(choices)


def param(argument: Argument, section: str | None = None) -> Field:
    """A dataclass field that is a key of params.yaml, checked as `argument` says. A key of a
    nested section (e.g. `training.fast.precision`) is the field `<section>_<key>` (`fast_precision`)."""
    return field(metadata={"argument": argument, "section": section})


def keys_of(view: type) -> dict[str, Argument]:
    """The params.yaml section a typed view declares: its `param` fields in order, those of a
    nested section gathered under the section's name. Fields not made with `param` are not keys."""
    keys: dict[str, Argument] = {}
    for item in fields(view):
        if "argument" not in item.metadata:
            continue
        argument, section = item.metadata["argument"], item.metadata["section"]
        if section is None:
            keys[item.name] = argument
        else:
            nested = keys.setdefault(section, Argument(dict, REQUIRED, items={})).items
            nested[item.name.removeprefix(section + "_")] = argument
    return keys
