"""The one place where outside data becomes catalog rows.

Sources (`catalog.importing.sources`) turn files, prefect.yaml and live Prefect servers into
`Record`s shaped like Prefect's API JSON. This module checks every record with the rules
the API and the admin use, then reconciles them with the catalog in one transaction:

- a deployment is matched on its id when the record has one, else on flow and name;
- only what a record gives is written, and a deployment whose values are already those
  of the record is left alone (its `updated` does not move);
- schedules are matched by slug, else by id, else by their definition, and updated in
  place, so their ids stay stable (Prefect's redeploys change them, duplicating runs).

What absent, empty and null values mean (written in the README too):

- `schedules` absent or null: the deployment keeps the schedules it has;
  `schedules: []`: it has none afterwards;
- a schedule's `active` not given: a matched schedule keeps its flag, a new one is active;
  `paused` not given: a deployment keeps its flag, a new one is not paused. An import
  never re-activates what someone paused or deactivated.

Any bad record aborts the whole import: nothing is written, and every problem is listed
with its file, line where known, and path inside the record.
"""
