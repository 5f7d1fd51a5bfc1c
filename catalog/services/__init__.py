"""The one write core: every write of the catalog, from any door (the API, the admin, the
importer, the commands), goes through these functions, which check every rule of
`catalog.rules`, write with `catalog.models`, and raise the domain errors of
`catalog.services.errors`. Nothing here knows HTTP; each call carries a `WriteContext`
(who writes, through which door, why).
"""
