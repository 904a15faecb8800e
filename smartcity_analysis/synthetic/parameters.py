"""The shape of the sample round: every number a documented modelling choice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class SampleParameters:
    """What the sample round looks like; every number is a documented modelling choice.

    Attributes
    ----------
    year : int
        Assessment year of the round.
    n_invited, n_submitted : int
        Regions invited and regions that took part (the November 2021 round: 150 and 88).
    classes : tuple of str
        The assessment classes (parallel sittings); participants are split evenly between them.
    panel_shift : Mapping
        Shift added to every likert score (before rounding) by the panel of a class: a lenient panel.
    round_days : tuple of datetime.date
        The four days the round ran; first submissions are dated on one of them.
    revision_days : tuple of datetime.date
        Days on which revised files arrive, after the interviews.
    forced_codes : tuple of str
        Regions always invited and taking part, because the planted identity mess needs them.
    """

    year: int = 2021
    n_invited: int = 150
    n_submitted: int = 88
    classes: tuple[str, ...] = ("Kelas A", "Kelas B", "Kelas C", "Kelas D")
    panel_shift: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {"Kelas A": 0.0, "Kelas B": 0.0, "Kelas C": 0.3, "Kelas D": 0.0})
    )
    round_days: tuple[dt.date, ...] = tuple(dt.date(2021, 11, d) for d in (8, 9, 10, 11))
    revision_days: tuple[dt.date, ...] = tuple(dt.date(2021, 11, d) for d in (15, 16, 17, 18, 19))
    forced_codes: tuple[str, ...] = (
        "3273", "3204", "2172", "7472", "9203", "1212", "9301", "9404", "9501", "9671", "3404",
    )


DEFAULT_PARAMETERS = SampleParameters()
