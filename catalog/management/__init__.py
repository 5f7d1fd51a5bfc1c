"""Management commands: thin shells over catalog.importing and catalog.services."""
