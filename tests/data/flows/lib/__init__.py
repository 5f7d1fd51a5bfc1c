# ruff: noqa  (modules written as users write them)
"""Helpers the flows import: the catalog follows these imports inside the project folder."""
