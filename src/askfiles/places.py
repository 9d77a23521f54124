"""Country and region names (ISO 3166, from pycountry): "which city" is rarely a country."""

from __future__ import annotations

from functools import lru_cache

# Short forms that the ISO names lack but texts use all the time.
COUNTRY_ALIASES = ("us", "u.s.", "usa", "u.s.a.", "uk", "u.k.", "britain", "great britain",
                   "america", "soviet union", "ussr", "holland", "burma")


@lru_cache(maxsize=1)
def names() -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased country names (current and historic) and region names."""
    import pycountry

    countries = set(COUNTRY_ALIASES)
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                countries.add(value.lower())
                if ", " in value:  # "Korea, Republic of" -> also "republic of korea"
                    a, b = value.split(", ", 1)
                    countries.add(f"{b} {a}".lower())
    for c in pycountry.historic_countries:
        countries.add(c.name.lower())
    regions = {s.name.lower() for s in pycountry.subdivisions} - countries
    return frozenset(countries), frozenset(regions)


def place_kind(surface: str) -> str:
    """ "country", "region" (a state, province, county...) or "" for a lower-cased name."""
    if not surface or len(surface) > 60:
        return ""
    name = surface[4:] if surface.startswith("the ") else surface
    countries, regions = names()
    if name in countries:
        return "country"
    if name in regions:
        return "region"
    return ""
