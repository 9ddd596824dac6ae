"""One hierarchy of domain errors, each with the HTTP status it maps to.

Every error carries its message in Ukrainian and English (:class:`gisplatform.i18n.Text`);
``str()`` gives the current language, the API picks the request's.
"""

from __future__ import annotations

from gisplatform.i18n import Text, message


class GisPlatformError(Exception):
    """Base of every error the platform raises on purpose."""

    status_code = 500

    def __init__(self, text: str | Text = "") -> None:
        self.text = text if isinstance(text, Text) else Text(text, text)
        super().__init__(text)

    def __str__(self) -> str:
        return str(self.text)


class ConfigurationError(GisPlatformError):
    """The platform is configured wrongly or a system prerequisite is missing."""


class LayerSpecError(GisPlatformError):
    """One or more layer definitions are invalid.

    ``problems`` holds ``(file, field_path, message)`` triples so that every
    problem names the file and the place inside it.
    """

    status_code = 500

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        lines = "\n".join(f"{file}: {path}: {why}" for file, path, why in problems)
        super().__init__(message("invalid_layer_definitions", lines=lines))


class ReportKindError(GisPlatformError):
    """One or more report kinds (``reports/*.yaml``) are invalid; ``problems`` as above."""

    status_code = 500

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        lines = "\n".join(f"{file}: {path}: {why}" for file, path, why in problems)
        super().__init__(message("invalid_report_kinds", lines=lines))


class LayerNotFound(GisPlatformError):
    """No layer of that name exists (or the caller may not know that it does)."""

    status_code = 404

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(message("unknown_layer", name=name))


class DatabaseUnavailable(GisPlatformError):
    """The database could not be reached or started."""

    status_code = 503


class MigrationRefused(GisPlatformError):
    """A migration would destroy data and was not explicitly allowed."""

    status_code = 409

    def __init__(self, drops: list[str]) -> None:
        self.drops = drops
        listing = "\n".join(f"  - {item}" for item in drops)
        super().__init__(message("migration_refused", listing=listing))


class InvalidParameter(GisPlatformError):
    """A request parameter is unknown or has a value the server cannot use."""

    status_code = 400

    def __init__(self, parameter: str, why: str | Text) -> None:
        self.parameter = parameter
        super().__init__(message("invalid_parameter", parameter=parameter, message=why))


class FeatureNotFound(GisPlatformError):
    """No feature with that id exists in the collection (or it may not be shown)."""

    status_code = 404

    def __init__(self, feature_id: str) -> None:
        self.feature_id = feature_id
        super().__init__(message("feature_not_found"))


class SignInFailed(GisPlatformError):
    """Wrong or unknown credentials (HTTP 401 with ``WWW-Authenticate``)."""

    status_code = 401


class InvalidAccessToken(SignInFailed):
    """An OIDC access token that does not verify (401, ``Bearer error="invalid_token"``)."""


class IdentityProviderUnavailable(GisPlatformError):
    """The OIDC provider's discovery document or keys cannot be had (HTTP 503)."""

    status_code = 503


class TooManySignIns(GisPlatformError):
    """Too many failed sign-ins from this address (HTTP 429)."""

    status_code = 429


class Forbidden(GisPlatformError):
    """Signed in, but without the role the action needs, e.g. to write a layer (HTTP 403)."""

    status_code = 403


class FeatureInvalid(GisPlatformError):
    """A written feature breaks the layer's rules; ``problems`` name each field (HTTP 422)."""

    status_code = 422

    def __init__(self, problems: list[tuple[str, Text]]) -> None:
        self.problems = problems
        lines = [message("edit_problem", field=name, message=why) for name, why in problems]
        parts = Text("; ".join(t.uk for t in lines), "; ".join(t.en for t in lines))
        super().__init__(message("edit_rejected", problems=parts))


class InvalidBody(GisPlatformError):
    """A request body that cannot be read as what the endpoint takes (HTTP 400)."""

    status_code = 400


class CsrfRefused(GisPlatformError):
    """A cookie-authenticated change without the session's CSRF token or from another site."""

    status_code = 403


class SignInRequired(GisPlatformError):
    """An anonymous request for something only a signed-in person may do (HTTP 401)."""

    status_code = 401


class PreconditionFailed(GisPlatformError):
    """``If-Match`` names another version of the feature (HTTP 412)."""

    status_code = 412


class PayloadTooLarge(GisPlatformError):
    """The request body is over the server's limit (HTTP 413)."""

    status_code = 413


class UnsupportedMediaType(GisPlatformError):
    """The request body's content type is not one the endpoint takes (HTTP 415)."""

    status_code = 415


class ReportInvalid(FeatureInvalid):
    """A resident's report breaks its kind's rules; ``problems`` name each field (HTTP 422)."""

    def __init__(self, problems: list[tuple[str, Text]]) -> None:
        self.problems = problems
        lines = [message("report_field", field=name, message=why) for name, why in problems]
        parts = Text("; ".join(t.uk for t in lines), "; ".join(t.en for t in lines))
        GisPlatformError.__init__(self, message("report_rejected", problems=parts))


class TooManyReports(GisPlatformError):
    """Too many reports from one address in the rate window (HTTP 429, ``Retry-After``)."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message("report_rate_limited", seconds=retry_after))


class ReportNotFound(GisPlatformError):
    """No report has this id or status token, or it may not be shown (HTTP 404)."""

    status_code = 404
