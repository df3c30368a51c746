"""The package version, importable from any stage without importing the public API."""

__version__ = "0.1.0"
