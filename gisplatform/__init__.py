"""gisplatform: a Smart City GIS data platform for Ukrainian hromadas."""

__version__ = "0.1.0"
