"""Database backends of the catalog's own."""
