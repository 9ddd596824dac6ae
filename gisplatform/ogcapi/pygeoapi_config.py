"""The pygeoapi configuration, generated from code: server, languages, job manager, processes.

pygeoapi serves only OGC API – Processes here (Features and Tiles are our own code), so the
config has no collections. Processors are named by dotted path and find their database
through a registered source key, so no secret enters the config.
"""

from __future__ import annotations

from typing import Any

#: process id → processor class in ``gisplatform.analyses.processes``
PROCESSORS: dict[str, str] = {
    "nearest-shelter": "NearestShelterProcessor",
    "shelter-coverage": "ShelterCoverageProcessor",
    "lighting-gaps": "LightingGapsProcessor",
    "service-access": "ServiceAccessProcessor",
}
PROCESSOR_MODULE = "gisplatform.analyses.processes"
#: the job manager (jobs in PostgreSQL, runs on our own pool)
MANAGER = "gisplatform.analyses.manager.PostgresJobManager"


def build_config(base_url: str, source_key: str) -> dict[str, Any]:
    """The pygeoapi config for ``base_url`` (the OGC API root, e.g. ``http://host/ogc``).

    Jobs are kept by our own manager in PostgreSQL (``MANAGER``), found through the source.
    """
    resources = {
        process_id: {
            "type": "process",
            "processor": {"name": f"{PROCESSOR_MODULE}.{name}", "source": source_key},
        }
        for process_id, name in PROCESSORS.items()
    }
    return {
        "server": {
            "bind": {"host": "0.0.0.0", "port": 8000},  # unused: our app serves the routes
            "url": base_url.rstrip("/"),
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["uk", "en"],
            "pretty_print": False,
            "limits": {"default_items": 50, "max_items": 1000},
            "map": {"url": "", "attribution": ""},
            # no output_dir is used (results are kept in PostgreSQL); the schema wants one
            "manager": {"name": MANAGER, "connection": source_key, "output_dir": ""},
        },
        "logging": {"level": "WARNING"},
        "metadata": {
            "identification": {
                "title": {"uk": "Просторова аналітика громади", "en": "Hromada spatial analytics"},
                "description": {
                    "uk": "Просторові аналізи громади як процеси OGC API",
                    "en": "Spatial analyses of the hromada as OGC API processes",
                },
                "keywords": {"uk": ["укриття", "освітлення"], "en": ["shelters", "lighting"]},
                "url": base_url,
            },
            "license": {"name": "CC-BY-4.0"},
            "provider": {"name": "gisplatform"},
            "contact": {"name": "gisplatform"},
        },
        "resources": resources,
    }


def validate(config: dict[str, Any]) -> None:
    """Check ``config`` against pygeoapi's own schema (jsonschema ValidationError if wrong)."""
    from pygeoapi.config import validate_config  # type: ignore[import-untyped]

    validate_config(config)
