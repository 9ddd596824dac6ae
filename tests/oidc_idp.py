"""A real OpenID Connect provider (npm oidc-provider, tests/idp/) run on loopback by the tests.

:func:`identity_provider` installs it with ``npm ci`` when tests/idp/node_modules is missing
(scripts/test.sh normally has), starts ``node tests/idp/provider.mjs`` with keys the test
made, and hands back an :class:`IdentityProvider` that issues real access tokens (client
credentials grant with an RFC 8707 resource indicator: JWTs whose ``aud`` is the resource)
and rotates its keys on demand.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import ECKey, RSAKey

IDP_DIR = Path(__file__).resolve().parent / "idp"
START_TIMEOUT_S = 60


def rsa_key(kid: str) -> RSAKey:
    """A fresh private RSA signing key for RS256."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


def ec_key(kid: str) -> ECKey:
    """A fresh private P-256 signing key for ES256."""
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})


@dataclass
class Client:
    """A client of the provider and the roles its tokens carry."""

    client_id: str
    roles: list[str]
    secret: str = field(default_factory=lambda: os.urandom(24).hex())


def install() -> None:
    """``npm ci`` in tests/idp when it has not been (scripts/test.sh does it before pytest)."""
    if (IDP_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        return
    npm = shutil.which("npm")
    assert npm, "npm is needed for the OIDC tests (scripts/bootstrap.sh installs Node.js and npm)"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=IDP_DIR,
        check=True,
        timeout=600,
    )


class IdentityProvider:
    """A running provider: its issuer URL, tokens on demand, key rotation."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        lines: queue.Queue[str],
        config: Path,
        settings: dict[str, Any],
        issuer: str,
    ) -> None:
        self.process = process
        self.lines = lines
        self.config = config
        self.settings = settings
        self.issuer = issuer
        self.keys: list[RSAKey | ECKey] = []

    def token(self, client: Client, resource: str) -> str:
        """A real access token for ``client`` with ``resource`` as its audience."""
        response = httpx.post(
            self.issuer + "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": client.secret,
                "resource": resource,
                "scope": "gis",
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def rotate(self, keys: list[RSAKey | ECKey], alg: str) -> None:
        """Serve ``keys`` (the first signs new tokens with ``alg``) from now on."""
        _write(self.config, {**self.settings, "alg": alg}, keys)
        self.keys = keys
        self.process.send_signal(signal.SIGHUP)
        line = self.lines.get(timeout=START_TIMEOUT_S)
        assert line == f"reloaded {keys[0].kid}", line


def _write(path: Path, settings: dict[str, Any], keys: list[RSAKey | ECKey]) -> None:
    document = {**settings, "keys": {"keys": [k.as_dict(private=True) for k in keys]}}
    path.write_text(json.dumps(document), encoding="utf-8")
    path.chmod(0o600)


def _pump(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        if line.startswith(("listening ", "reloaded ")):  # not the provider's notices
            lines.put(line.strip())


@contextmanager
def identity_provider(
    tmp: Path,
    keys: list[RSAKey | ECKey],
    alg: str,
    clients: list[Client],
    resources: dict[str, int],
    roles_claim: str,
) -> Iterator[IdentityProvider]:
    """Run the provider on a free loopback port until the block ends."""
    install()
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "Node.js is needed for the OIDC tests (scripts/bootstrap.sh installs it)"
    settings = {
        "alg": alg,
        "clients": [
            {"client_id": c.client_id, "client_secret": c.secret, "roles": c.roles} for c in clients
        ],
        "resources": {uri: {"ttl": ttl} for uri, ttl in resources.items()},
        "roles_claim": roles_claim,
    }
    config = tmp / "idp.json"
    _write(config, settings, keys)
    process = subprocess.Popen(
        [node, str(IDP_DIR / "provider.mjs"), str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            raise RuntimeError("the identity provider did not start") from None
        assert first.startswith("listening http://127.0.0.1:"), first
        provider = IdentityProvider(process, lines, config, settings, first.split()[1])
        provider.keys = keys
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
