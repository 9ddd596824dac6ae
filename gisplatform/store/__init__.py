"""The PostGIS store: tables generated from the registry, migrations, history."""
