"""The rules of a valid catalog, in plain Python: no ORM, no HTTP, no pydantic.

`limits` holds every length, character, size and number limit; `schedules` the one
schedule parser and column mapper; `parameters` the JSON-schema checks of parameters and
job variables; `datetimes` and `text` the timestamp and storable-text rules. Models,
request models, admin forms, the importer and the write core (`catalog.services`) all
ask these modules, so each rule is written once.
"""
