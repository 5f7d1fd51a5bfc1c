"""The API's views, one class per Prefect route, a module per resource. Each docstring
lists its route, what it answers and its errors; the rules live in `catalog.services`."""
