"""Open one PostGIS table in headless QGIS as a given database user and change one value.

Run by tests/test_db_login.py with the system Python that Debian's ``python3-qgis`` belongs
to (``/usr/bin/python3``), never imported by the test suite. One JSON argument:

    {"host": …, "port": …, "dbname": …, "user": …, "password": …, "profile": "/tmp/…",
     "schema": "gis", "layer": "…", "fid": 1, "field": "…", "value": …}

Without ``fid`` it only reads the layer (a table or a view, keyed by ``fid``).

It edits as a QGIS user does: startEditing, changeAttributeValue, commitChanges, and prints
what QGIS saw and whether the commit went through, as JSON.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# after the platform is chosen: Qt reads it when it loads
from qgis.core import QgsApplication, QgsDataSourceUri, QgsFeatureRequest, QgsVectorLayer


def _edit(args):
    uri = QgsDataSourceUri()
    uri.setConnection(
        args["host"], str(args["port"]), args["dbname"], args["user"], args["password"]
    )
    uri.setDataSource(args.get("schema", "gis"), args["layer"], "geom", "", "fid")
    layer = QgsVectorLayer(uri.uri(False), args["layer"], "postgres")
    found = {"valid": layer.isValid()}
    if not layer.isValid():
        found["error"] = layer.error().summary()
        return found
    found["fields"] = [f.name() for f in layer.fields()]
    found["read"] = sum(1 for _ in layer.getFeatures())
    if "fid" not in args:  # only read
        del layer
        return found
    request = QgsFeatureRequest().setFilterExpression(f'"fid" = {int(args["fid"])}')
    (feature,) = list(layer.getFeatures(request))
    index = layer.fields().indexOf(args["field"])
    found["editing"] = layer.startEditing()
    found["changed"] = layer.changeAttributeValue(feature.id(), index, args["value"])
    found["committed"] = layer.commitChanges()
    found["errors"] = list(layer.commitErrors())
    del layer
    return found


def main():
    args = json.loads(sys.argv[1])
    app = QgsApplication([], False, args["profile"])
    app.initQgis()
    found = _edit(args)
    print(json.dumps(found), flush=True)
    app.exitQgis()


if __name__ == "__main__":
    main()
