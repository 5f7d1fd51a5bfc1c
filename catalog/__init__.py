"""The Prefect-compatible deployment catalog: see README.md for its layers."""
