"""The message catalogue: every error and notice a person reads, Ukrainian first.

Keys are grouped by the part of the platform that raises them. Placeholders use
``str.format`` names; both languages take the same ones.
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    # --- import: rows ---------------------------------------------------------------------
    "row_problem": {
        "uk": "рядок {row}, поле «{field}»: {message}",
        "en": "row {row}, field {field!r}: {message}",
    },
    "rule_broken": {"uk": "{message} (правило {rule})", "en": "{message} (rule {rule})"},
    "outside_hromada": {
        "uk": "поза громадою ({where}), не імпортовано",
        "en": "outside the hromada ({where}), not imported",
    },
}
