"""Every source Orchard loads, keyed by name: adding a source is a package plus one line here."""

from __future__ import annotations

from orchard.sources.instacart.settings import SOURCE as INSTACART
from orchard.sources.shop.settings import SOURCE as SHOP
from orchard.sources.spec import Source

SOURCES: dict[str, Source] = {source.name: source for source in (INSTACART, SHOP)}


def get(name: str) -> Source:
    """The source called `name`; a ValueError naming the known ones otherwise."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}: expected one of {', '.join(SOURCES)}") from None
