"""Load one OAPIF layer in headless QGIS and print what QGIS saw, as JSON.

Run by tests/test_qgis_client.py with the system Python that Debian's ``python3-qgis``
belongs to (``/usr/bin/python3``), never imported by the test suite. One JSON argument:

    {"url": "http://127.0.0.1:PORT/ogc", "layer": "…", "profile": "/tmp/…",
     "auth": "none" | "basic" | "header", "login": "…", "password": "…", "token": "…"}

``basic`` stores a QGIS auth configuration of the "Basic" method (in the profile's auth
database, behind a master password) and names it with ``authcfg=`` in the layer URI.
``header`` sends ``Authorization: Bearer …``: with QGIS's "APIHeader" auth method where
it exists (QGIS >= 3.24), else through QgsNetworkAccessManager's request preprocessor
(QGIS 3.22 has no auth method that sends an ``Authorization`` header of one's choosing).
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# after the platform is chosen: Qt reads it when it loads
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsNetworkAccessManager,
    QgsVectorLayer,
)

MASTER_PASSWORD = "gisplatform-test-master"
#: ids of the request preprocessors added (removed before QGIS exits)
PREPROCESSORS = []


def _store(manager, config):
    """Store ``config``; QGIS 3.22 answers (ok, config), newer ones may answer ok alone."""
    stored = manager.storeAuthenticationConfig(config)
    ok = stored[0] if isinstance(stored, tuple) else stored
    if not ok:
        raise SystemExit("QGIS refused the auth configuration")
    return config.id()


def _auth(args):
    """The ``authcfg=…`` part of the URI (empty without one) and how the header was sent."""
    manager = QgsApplication.authManager()
    if args["auth"] == "none":
        return "", "none"
    if not manager.setMasterPassword(MASTER_PASSWORD, True):
        raise SystemExit("QGIS did not take the master password")
    methods = manager.authMethodsKeys()
    if args["auth"] == "basic":
        config = QgsAuthMethodConfig("Basic")
        config.setName("gisplatform basic")
        config.setConfig("username", args["login"])
        config.setConfig("password", args["password"])
        return f" authcfg={_store(manager, config)}", "Basic auth config"
    if "APIHeader" in methods:
        config = QgsAuthMethodConfig("APIHeader")
        config.setName("gisplatform token")
        config.setConfig("Authorization", "Bearer " + args["token"])
        return f" authcfg={_store(manager, config)}", "APIHeader auth config"
    header = ("Bearer " + args["token"]).encode()

    def add_header(request):
        request.setRawHeader(b"Authorization", header)

    PREPROCESSORS.append(QgsNetworkAccessManager.setRequestPreprocessor(add_header))
    return "", "request preprocessor"


def _load(args):
    """What QGIS makes of the layer (the layer itself is gone when this returns)."""
    authcfg, how = _auth(args)
    uri = f"url='{args['url']}' typename='{args['layer']}'{authcfg}"
    layer = QgsVectorLayer(uri, args["layer"], "OAPIF")
    found = {"version": Qgis.QGIS_VERSION, "how": how, "valid": layer.isValid()}
    if layer.isValid():
        found["count"] = layer.featureCount()
        found["fields"] = [field.name() for field in layer.fields()]
        found["read"] = sum(1 for _ in layer.getFeatures())
    del layer
    return found


def main():
    args = json.loads(sys.argv[1])
    app = QgsApplication([], False, args["profile"])
    app.initQgis()
    found = _load(args)
    print(json.dumps(found), flush=True)
    for added in PREPROCESSORS:
        QgsNetworkAccessManager.removeRequestPreprocessor(added)
    app.exitQgis()


if __name__ == "__main__":
    main()
