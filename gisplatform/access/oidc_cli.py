"""``gisplatform oidc check``: is the identity provider reachable, and would a token sign in?

It reads the same ``GISPLATFORM_OIDC_*`` settings as the server, fetches the provider's
discovery document and keys, and with ``--token`` verifies a token exactly as the server does,
printing who it signs in and with which registry roles, or why it is refused.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import anyio
import typer
from rich.console import Console

from gisplatform.errors import ConfigurationError
from gisplatform.i18n import message
from gisplatform.registry import load_registry
from gisplatform.settings import Settings

if TYPE_CHECKING:
    from gisplatform.access.oidc import OidcSignIn

oidc_app = typer.Typer(help="Sign-in with an identity provider (OIDC).", no_args_is_help=True)
console = Console(soft_wrap=True)


async def _check(sign_in: OidcSignIn, token: str | None) -> None:
    from gisplatform.access.oidc import Refused

    try:
        keys = await sign_in.keys.current()
        kids = ", ".join(str(kid) for kid, _ in keys.keys)
        console.print(
            str(message("oidc_check_keys", issuer=sign_in.issuer, kids=kids)), markup=False
        )
        if token is None:
            return
        try:
            audience = sign_in.audience_of(await sign_in.verify(token))
        except Refused as refused:
            raise refused.error() from None
        roles = ", ".join(sorted(audience.roles)) or str(message("no_roles"))
        said = message("oidc_check_token", login=audience.login, roles=roles)
        console.print(str(said), markup=False)
    finally:
        await sign_in.aclose()


@oidc_app.command("check")
def check(
    token: Annotated[
        str | None,
        typer.Option("--token", help="An access token to verify ('-': read it from stdin)."),
    ] = None,
) -> None:
    """Fetch the provider's keys; with --token, say whom it signs in, or why not."""
    settings = Settings()
    if not settings.oidc.enabled:
        raise ConfigurationError(message("oidc_not_configured"))
    if token == "-":
        token = sys.stdin.readline().strip()
    from gisplatform.access.oidc import OidcSignIn  # joserfc and httpx: only for this command

    sign_in = OidcSignIn(settings.oidc, load_registry(settings.layers_dir))
    anyio.run(_check, sign_in, token)
