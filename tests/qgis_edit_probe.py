"""Edit one OAPIF layer through headless QGIS's own provider and print what happened, as JSON.

Run by tests/test_qgis_client.py with the system Python of Debian's ``python3-qgis``, never
imported by the test suite. One JSON argument:

    {"url": "http://127.0.0.1:PORT/ogc", "layer": "…", "profile": "/tmp/…",
     "login": "…", "password": "…", "properties": {…}, "point": [lon, lat],
     "moved": [lon, lat], "change": {"field": "…", "value": …}}

QGIS >= 3.32 turns editing of an OAPIF layer on from the ``OPTIONS`` answers of the server;
older QGIS (3.22 in Debian 12) offers the layer read-only. The probe prints the editing
capabilities QGIS found and, when it may add features, adds one (``properties`` at
``point``), moves it to ``moved``, changes one attribute and deletes it, each through the
data provider, so every request is the one QGIS itself sends (no ``If-Match``, PATCH of the
geometry and of the attributes separately, the new id read from ``Location``).
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
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsVectorDataProvider,
    QgsVectorLayer,
)

MASTER_PASSWORD = "gisplatform-test-master"
CAPABILITIES = {
    "add": QgsVectorDataProvider.AddFeatures,
    "change_attributes": QgsVectorDataProvider.ChangeAttributeValues,
    "change_geometries": QgsVectorDataProvider.ChangeGeometries,
    "delete": QgsVectorDataProvider.DeleteFeatures,
}


def _basic_auth(login, password):
    manager = QgsApplication.authManager()
    if not manager.setMasterPassword(MASTER_PASSWORD, True):
        raise SystemExit("QGIS did not take the master password")
    config = QgsAuthMethodConfig("Basic")
    config.setName("gisplatform editor")
    config.setConfig("username", login)
    config.setConfig("password", password)
    stored = manager.storeAuthenticationConfig(config)
    if not (stored[0] if isinstance(stored, tuple) else stored):
        raise SystemExit("QGIS refused the auth configuration")
    return config.id()


def _new_feature(layer, properties, point):
    fields = layer.fields()
    feature = QgsFeature(fields)
    feature.setAttributes([properties.get(field.name()) for field in fields])
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(*point)))
    return feature


def _edit(layer, args):
    """Add, move, change and delete one feature; what each step answered."""
    provider = layer.dataProvider()
    done = {}
    ok, added = provider.addFeatures([_new_feature(layer, args["properties"], args["point"])])
    done["added"] = bool(ok) and len(added) == 1
    if not done["added"]:
        done["error"] = provider.lastError()
        return done
    fid = added[0].id()
    moved = QgsGeometry.fromPointXY(QgsPointXY(*args["moved"]))
    done["moved"] = bool(provider.changeGeometryValues({fid: moved}))
    change = args["change"]
    index = layer.fields().indexFromName(change["field"])
    done["changed"] = bool(provider.changeAttributeValues({fid: {index: change["value"]}}))
    done["deleted"] = bool(provider.deleteFeatures([fid]))
    if not all((done["moved"], done["changed"], done["deleted"])):
        done["error"] = provider.lastError()
    return done


def main():
    args = json.loads(sys.argv[1])
    app = QgsApplication([], False, args["profile"])
    app.initQgis()
    authcfg = _basic_auth(args["login"], args["password"])
    uri = f"url='{args['url']}' typename='{args['layer']}' authcfg={authcfg}"
    layer = QgsVectorLayer(uri, args["layer"], "OAPIF")
    found = {"version": Qgis.QGIS_VERSION, "valid": layer.isValid()}
    if layer.isValid():
        caps = layer.dataProvider().capabilities()
        found["capabilities"] = sorted(k for k, flag in CAPABILITIES.items() if caps & flag)
        if "add" in found["capabilities"] and args.get("edit", True):
            found["edit"] = _edit(layer, args)
    del layer
    print(json.dumps(found), flush=True)
    app.exitQgis()


if __name__ == "__main__":
    main()
