"""pygeoapi processors around the analyses: OGC API – Processes for the caller's audience.

Each processor is a thin adapter: its ``PROCESS_METADATA`` (inputs, outputs, titles) is
generated from the analysis' pydantic input and result models, it validates the inputs with
the same models (errors name the input) and runs the analysis on a connection of its own,
in the views and role of the request's audience (:func:`current_view`). Anonymous callers
see public data only: inputs that would unlock restricted parts are not offered, and fields
drawn from staff or restricted layer fields are removed from the result. Signed-in staff
read their audience's views: the fields their roles may see stay in the result, and the
parts a process keeps from the public are theirs when their roles may read what those parts
are drawn from (``ProcessSpec.unlocked_by``).
This module imports pygeoapi; the generated config names its classes by dotted path.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

import psycopg
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from pygeoapi.process.base import (  # type: ignore[import-untyped]
    BaseProcessor,
    ProcessorExecuteError,
)

from gisplatform.analyses.audience import LayerUnavailable, prepare_run
from gisplatform.analyses.common import AnalysisInput, Schemas
from gisplatform.analyses.coverage import (
    ShelterCoverageInput,
    ShelterCoverageResult,
    shelter_coverage,
)
from gisplatform.analyses.disclosure import NOTE, coverage_figures, service_figures
from gisplatform.analyses.lighting import LightingGapsInput, LightingGapsResult, lighting_gaps
from gisplatform.analyses.runs import RunPool, run_connection
from gisplatform.analyses.services import ServiceAccessInput, ServiceAccessResult, service_access
from gisplatform.analyses.shelters import (
    ROUTE_ATTRIBUTES,
    NearestShelterInput,
    NearestShelterResult,
    nearest_shelter,
)
from gisplatform.i18n import Text, TextError, join, message
from gisplatform.registry import Audience, LayerRegistry
from gisplatform.registry.hromada import HromadaProfile
from gisplatform.store.audiences import current_view
from gisplatform.store.jobs import JobStore

log = logging.getLogger("gisplatform.processes")

#: message of an unexpected failure (answered 500)
INTERNAL_ERROR = message("internal_error")
JSON = "application/json"


class RunError(ProcessorExecuteError):  # type: ignore[misc]
    """A run refused or failed; pygeoapi answers ``http_status_code`` with the message.

    pygeoapi carries the message as one string, so both languages travel in it as JSON
    (:func:`encode_text`); the router picks the request's language (:func:`decode_text`).
    """

    def __init__(self, text: Text) -> None:
        self.text = text
        super().__init__(text.en, user_msg=encode_text(text))


class InputError(RunError):
    """An input is invalid: 400 naming the input."""

    http_status_code = HTTPStatus.BAD_REQUEST
    ogc_exception_code = "InvalidParameterValue"


class LayerRefused(RunError):
    """A layer the process reads is not visible to the caller: 404 naming the layer."""

    http_status_code = HTTPStatus.NOT_FOUND
    ogc_exception_code = "NotFound"


class RunUnavailable(RunError):
    """The database cannot answer, or the run passed its deadline: 503."""

    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE
    ogc_exception_code = "ServiceUnavailable"


class RunsBusy(RunError):
    """Every worker is busy and the queue is full: 429."""

    http_status_code = HTTPStatus.TOO_MANY_REQUESTS
    ogc_exception_code = "TooManyRequests"


class RunFailed(RunError):
    """An unexpected failure: 500, details in the server log only."""

    http_status_code = HTTPStatus.INTERNAL_SERVER_ERROR
    ogc_exception_code = "ServerError"


@dataclass(frozen=True)
class ProcessSource:
    """What processors and the job manager use: database, registry, run pool, job store."""

    url: str
    registry: LayerRegistry
    runs: RunPool
    jobs: JobStore
    deadline_s: float = 30.0
    #: URL prefixes allowed as job callbacks (none: ``subscriber`` is refused)
    subscribers: tuple[str, ...] = ()


_SOURCES: dict[str, ProcessSource] = {}


def register_source(source: ProcessSource) -> str:
    """Register ``source`` and return the key the generated config refers to."""
    key = secrets.token_hex(8)
    _SOURCES[key] = source
    return key


def source(key: str) -> ProcessSource:
    """The source registered under ``key``."""
    return _SOURCES[key]


@dataclass(frozen=True)
class ProcessSpec:
    """One analysis offered as a process."""

    id: str
    title: dict[str, str]
    description: dict[str, str]
    keywords: list[str]
    inputs: type[AnalysisInput]
    result: type[BaseModel]
    run: Callable[[psycopg.Connection[Any], Any, Schemas], BaseModel]
    #: example inputs for the process description, from the hromada profile
    example: Callable[[HromadaProfile], dict[str, Any]]
    #: inputs fixed for the public audience and not offered (naming one is an error)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    #: result paths withheld from the public (lists are entered element by element)
    withheld: tuple[tuple[str, ...], ...] = ()
    #: ``(layer, field or None)`` a caller's audience must read to be offered the fixed
    #: inputs and the withheld results (the layers are then read too); none: never
    unlocked_by: tuple[tuple[str, str | None], ...] = ()
    #: layers the analysis reads (each must be visible to the audience: checked per run)
    layers: tuple[str, ...] = ()
    #: the analysis walks the street graph
    graph: bool = False
    #: result paths that hold a layer field: withheld when the audience may not see it
    sourced: Mapping[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)
    #: the published population figures, when the audience may not see building weights
    figures: Callable[[Any, Any], BaseModel] | None = None

    def unlocked(self, registry: LayerRegistry, reader: Audience) -> bool:
        """True when ``reader`` may read everything :attr:`unlocked_by` names."""
        if not self.unlocked_by or reader.is_anonymous:
            return False
        for layer, name in self.unlocked_by:
            if layer not in registry or not registry.get(layer).visible_to(reader):
                return False
            fields = registry.get(layer).fields_for(reader)
            if name is not None and name not in {f.name for f in fields}:
                return False
        return True

    def extra_layers(self, registry: LayerRegistry, reader: Audience) -> tuple[str, ...]:
        """Layers an unlocked run reads besides :attr:`layers`."""
        if not self.unlocked(registry, reader):
            return ()
        return tuple(dict.fromkeys(n for n, _ in self.unlocked_by if n not in self.layers))


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The JSON Schema ``node`` with every local ``$ref`` replaced by its definition."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[str(node["$ref"]).rsplit("/", 1)[-1]]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return _inline({**target, **rest}, defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _drop_schema(node: dict[str, Any], path: tuple[str, ...]) -> None:
    for branch in node.get("anyOf", [node]):
        target = branch.get("items", branch) if branch.get("type") == "array" else branch
        props = target.get("properties", {})
        if path[0] not in props:
            continue
        if len(path) > 1:
            _drop_schema(props[path[0]], path[1:])
            continue
        del props[path[0]]
        if path[0] in target.get("required", []):
            target["required"].remove(path[0])


def _drop_value(value: Any, path: tuple[str, ...]) -> None:
    if isinstance(value, list):
        for item in value:
            _drop_value(item, path)
    elif isinstance(value, dict) and path[0] in value:
        if len(path) == 1:
            del value[path[0]]
        else:
            _drop_value(value[path[0]], path[1:])


def _schema(model: type[BaseModel], mode: str) -> dict[str, Any]:
    raw = model.model_json_schema(mode="validation" if mode == "validation" else "serialization")
    schema: dict[str, Any] = _inline(raw, raw.get("$defs", {}))
    return schema


def process_metadata(spec: ProcessSpec, hromada: HromadaProfile | None = None) -> dict[str, Any]:
    """The OGC process description of ``spec``, generated from its pydantic models.

    Its example (a point in the hromada, for instance) comes from the hromada profile and is
    left out without one.
    """
    schema = _schema(spec.inputs, "validation")
    required = set(schema.get("required", []))
    inputs: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if name in spec.fixed:
            continue
        inputs[name] = {
            "title": spec.inputs.model_fields[name].title or name.replace("_", " "),
            "description": prop.get("description", ""),
            "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
            "minOccurs": 1 if name in required else 0,
            "maxOccurs": 1,
        }
    result = _schema(spec.result, "serialization")
    for path in spec.withheld:
        _drop_schema(result, path)
    described: dict[str, Any] = {
        "version": "1.0.0",
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "keywords": spec.keywords,
        "jobControlOptions": ["sync-execute", "async-execute"],
        "outputTransmission": ["value"],
        "inputs": inputs,
        "outputs": {
            "result": {
                "title": result.get("title", "result"),
                "description": result.get("description", ""),
                "schema": {**result, "contentMediaType": JSON},
            }
        },
    }
    if hromada is not None:
        described["example"] = {"inputs": spec.example(hromada)}
    return described


#: pydantic error types said in the catalogue (``input_<type>``), with their context values
_INPUT_KINDS = {
    "missing": (),
    "extra_forbidden": (),
    "less_than_equal": ("le",),
    "less_than": ("lt",),
    "greater_than_equal": ("ge",),
    "greater_than": ("gt",),
    "float_parsing": (),
    "float_type": (),
    "int_parsing": (),
    "int_type": (),
    "int_from_float": (),
    "bool_parsing": (),
    "list_type": (),
    "dict_type": (),
    "too_short": ("min_length",),
    "too_long": ("max_length",),
}


def _number(value: object) -> object:
    """5000.0 as 5000; anything else unchanged."""
    return f"{value:g}" if isinstance(value, float) else value


def input_text(err: PydanticValidationError) -> Text:
    """The input errors in both languages, each naming its input."""
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "inputs"
        kind, ctx = item["type"], item.get("ctx") or {}
        if kind in _INPUT_KINDS:
            limits = {k: _number(ctx.get(k)) for k in _INPUT_KINDS[kind]}
            why = message(f"input_{kind}", **limits)
        elif isinstance(ctx.get("error"), TextError):
            why = ctx["error"].text
        else:
            why = Text(item["msg"], item["msg"])
        parts.append(message("input_invalid", name=where, message=why))
    return join(parts)


def encode_text(text: Text) -> str:
    """A message in both languages as one string (for pygeoapi's error body)."""
    return json.dumps({"uk": text.uk, "en": text.en}, ensure_ascii=False)


def decode_text(description: str) -> Text | None:
    """The message :func:`encode_text` made, or None for any other string."""
    try:
        data = json.loads(description)
    except ValueError:
        return None
    if (
        isinstance(data, dict)
        and isinstance(data.get("uk"), str)
        and isinstance(data.get("en"), str)
    ):
        return Text(data["uk"], data["en"])
    return None


def public_result(
    spec: ProcessSpec, result: BaseModel, schemas: Schemas | None = None, unlocked: bool = False
) -> dict[str, Any]:
    """``result`` as JSON without the withheld paths (unless ``unlocked``) and the fields
    ``schemas`` may not see."""
    data = result.model_dump(mode="json")
    for path in () if unlocked else spec.withheld:
        _drop_value(data, path)
    for path, (layer, name) in spec.sourced.items():
        if schemas is not None and not schemas.visible(layer, name):
            _drop_value(data, path)
    return data


class AnalysisProcessor(BaseProcessor):  # type: ignore[misc]
    """Runs ``SPEC``'s analysis; the processor definition names the registered source."""

    SPEC: ClassVar[ProcessSpec]
    #: the process description of ``SPEC``, set on each subclass that names one
    PROCESS_METADATA: ClassVar[dict[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "SPEC" in cls.__dict__:
            cls.PROCESS_METADATA = process_metadata(cls.SPEC)

    def __init__(self, processor_def: dict[str, Any]) -> None:
        found = source(str(processor_def["source"]))
        super().__init__(processor_def, process_metadata(self.SPEC, found.registry.hromada))
        self.source = found

    def parse(self, data: Mapping[str, Any]) -> AnalysisInput:
        """Validated inputs for the caller's audience; InputError naming the input otherwise."""
        reader = current_view().reader
        fixed = {} if self.SPEC.unlocked(self.source.registry, reader) else self.SPEC.fixed
        for name in fixed:
            if name in data:
                key = "input_not_for_anonymous" if reader.is_anonymous else "input_not_for_caller"
                raise InputError(message(key, name=name))
        try:
            return self.SPEC.inputs.model_validate(
                {**data, **fixed}, context={"registry": self.source.registry}
            )
        except PydanticValidationError as err:
            raise InputError(input_text(err)) from err

    def execute(
        self, data: dict[str, Any], outputs: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Validate, run the analysis under the deadline and return its public result.

        Runs in the caller's thread (a worker of the run pool). Nothing of the inputs or
        the result is logged: they may hold a resident's position.
        """
        params = self.parse(data or {})
        deadline = self.source.deadline_s
        spec = self.SPEC
        view = current_view()
        registry = self.source.registry
        unlocked = spec.unlocked(registry, view.reader)
        layers = spec.layers + spec.extra_layers(registry, view.reader)
        try:
            with run_connection(self.source.url, deadline) as conn:
                schemas = prepare_run(conn, registry, view, layers, spec.graph)
                result = spec.run(conn, params, schemas)
        except LayerUnavailable as err:
            key = "layer_not_for_anonymous" if view.is_public else "layer_not_for_caller"
            raise LayerRefused(message(key, layer=err.layer)) from err
        except PydanticValidationError as err:  # checks that need the data, e.g. the boundary
            raise InputError(input_text(err)) from err
        except psycopg.errors.QueryCanceled as err:
            raise RunUnavailable(message("analysis_deadline", seconds=f"{deadline:g}")) from err
        except psycopg.OperationalError as err:
            log.warning("process %s: database unavailable (%s)", self.SPEC.id, type(err).__name__)
            raise RunUnavailable(message("database_unavailable")) from err
        except Exception as err:
            log.error("process %s failed: %s", self.SPEC.id, type(err).__name__)
            raise RunFailed(INTERNAL_ERROR) from err
        if spec.figures is not None and not schemas.visible("buildings", "population"):
            result = spec.figures(params, result)
        return JSON, public_result(spec, result, schemas, unlocked)


def _describe(uk: str, en: str, withheld: tuple[str, str] | None = None) -> dict[str, str]:
    """Bilingual description ending with the audience note (and what the public does not get)."""
    if withheld is None:
        return {"uk": f"{uk} {PUBLIC_NOTE['uk']}.", "en": f"{en} {PUBLIC_NOTE['en']}."}
    return {
        "uk": f"{uk} {PUBLIC_NOTE['uk']}; лише для ролей, що їх бачать: {withheld[0]}.",
        "en": f"{en} {PUBLIC_NOTE['en']}; only for roles that may read them: {withheld[1]}.",
    }


def _with_figures_note(description: dict[str, str]) -> dict[str, str]:
    """``description`` and the rule for population figures (staff-derived aggregates)."""
    return {lang: f"{text} {NOTE[lang]}." for lang, text in description.items()}


PUBLIC_NOTE = {
    "uk": (
        "Процес читає дані, доступні тому, хто його запускає: анонімному — лише відкриті, "
        "працівнику, що увійшов, — службові поля і шари його ролей"
    ),
    "en": (
        "The process reads the data its caller may read: public data only for an anonymous "
        "caller, the staff fields and layers of their roles for signed-in staff"
    ),
}

NEAREST_SHELTER = ProcessSpec(
    id="nearest-shelter",
    title={"uk": "Найближчі укриття", "en": "Nearest shelters"},
    description=_describe(
        "Найближчі до точки укриття за пішохідною відстанню вулицями, з маршрутами.",
        "The shelters nearest to a point by walking distance on the streets, with routes.",
    ),
    keywords=["shelters", "укриття", "routing"],
    inputs=NearestShelterInput,
    result=NearestShelterResult,
    run=nearest_shelter,
    example=lambda hromada: {"origin": hromada.centre.model_dump(), "limit": 3},
    layers=("hromada_boundary", "streets", "shelters"),
    graph=True,
    sourced={("shelters", name): ("shelters", name) for name in ROUTE_ATTRIBUTES},
)
SHELTER_COVERAGE = ProcessSpec(
    id="shelter-coverage",
    title={"uk": "Охоплення укриттями", "en": "Shelter coverage"},
    description=_with_figures_note(
        _describe(
            "Пішохідний час від кожної будівлі до найближчого укриття, підсумки за населеними "
            "пунктами і старостинськими округами, навантаження укриттів і неохоплені території.",
            "Walking time from every building to its nearest shelter, summaries per settlement "
            "and starosta district, shelter loads and uncovered areas.",
            (
                "кількість мешканців окремих будівель (службові дані)",
                "per-building population (staff data)",
            ),
        ),
    ),
    keywords=["shelters", "укриття", "coverage"],
    inputs=ShelterCoverageInput,
    result=ShelterCoverageResult,
    run=shelter_coverage,
    example=lambda _: {"bands_minutes": [5, 10, 15], "include_buildings": False},
    withheld=(("buildings", "population"),),
    unlocked_by=(("buildings", "population"),),
    layers=("shelters", "buildings", "streets", "settlements", "starosta_districts"),
    graph=True,
    sourced={("buildings", "population"): ("buildings", "population")},
    figures=coverage_figures,
)
LIGHTING_GAPS = ProcessSpec(
    id="lighting-gaps",
    title={"uk": "Неосвітлені ділянки вулиць", "en": "Street-lighting gaps"},
    description=_describe(
        "Ділянки вулиць без справного ліхтаря в межах заданої відстані і довжина "
        "неосвітлених ділянок вулиць.",
        "Street parts with no working light within a distance, and the dark length per street.",
        (
            "несправності за шафами керування (обмежені дані)",
            "faults per control cabinet (restricted data)",
        ),
    ),
    keywords=["lighting", "освітлення"],
    inputs=LightingGapsInput,
    result=LightingGapsResult,
    run=lighting_gaps,
    example=lambda _: {"distance_m": 50},
    fixed={"include_cabinets": False},
    withheld=(("cabinets",), ("restricted",)),
    unlocked_by=(("lighting_cabinets", None),),
    layers=("streets", "street_lights"),
)
SERVICE_ACCESS = ProcessSpec(
    id="service-access",
    title={"uk": "Пішохідна доступність послуг", "en": "Walking access to services"},
    description=_with_figures_note(
        _describe(
            "Пішохідний час до найближчого ЦНАП, школи і закладу охорони здоров'я за населеними "
            "пунктами (зважено за населенням).",
            "Walking time to the nearest ЦНАП, school and health site per settlement "
            "(population-weighted).",
        ),
    ),
    keywords=["services", "послуги", "accessibility"],
    inputs=ServiceAccessInput,
    result=ServiceAccessResult,
    run=service_access,
    example=lambda _: {"near_minutes": 15, "far_minutes": 30},
    layers=("admin_service_centres", "education", "health", "buildings", "streets", "settlements"),
    graph=True,
    figures=service_figures,
)


class NearestShelterProcessor(AnalysisProcessor):
    """``nearest-shelter``."""

    SPEC = NEAREST_SHELTER


class ShelterCoverageProcessor(AnalysisProcessor):
    """``shelter-coverage``."""

    SPEC = SHELTER_COVERAGE


class LightingGapsProcessor(AnalysisProcessor):
    """``lighting-gaps`` without the restricted per-cabinet part."""

    SPEC = LIGHTING_GAPS


class ServiceAccessProcessor(AnalysisProcessor):
    """``service-access``."""

    SPEC = SERVICE_ACCESS
