"""Imports of the same file at once, on PostgreSQL: exactly one copy of each deployment.

SQLite serialises writers itself (IMMEDIATE transactions); the race exists on PostgreSQL,
where imports take an advisory lock so that they run one after another.
"""

import json
import threading

import pytest
from django.db import connection, connections

from catalog.importing.records import ImportFailed
from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentSchedule, Flow

pytestmark = pytest.mark.django_db(transaction=True)


def records(count: int) -> list[dict]:
    """Records without ids: matched on flow and name, the racy way."""
    return [
        {
            "name": f"concurrent-{n}",
            "flow_name": f"flow-{n % 3}",
            "tags": ["race"],
            "schedules": [{"schedule": {"cron": f"{n % 60} 9 * * *"}, "slug": "daily"}],
        }
        for n in range(count)
    ]


def test_four_imports_of_one_file_at_once_leave_one_copy_of_each(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent writers, which SQLite serialises by design")
    path = tmp_path / "race.json"
    path.write_text(json.dumps(records(40)))
    outcomes: list[object] = []
    start = threading.Barrier(4)

    def run_import() -> None:
        start.wait()
        try:
            result = import_paths([path], progress=None)
            outcomes.append((result.created, result.unchanged))
        except ImportFailed as exc:
            outcomes.append(exc)
        except Exception as exc:  # anything else would be an unclean error
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_import) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(outcome, tuple | ImportFailed) for outcome in outcomes), outcomes
    assert sorted(o for o in outcomes if isinstance(o, tuple)) == [
        (0, 40),
        (0, 40),
        (0, 40),
        (40, 0),
    ]
    assert Deployment.objects.count() == 40
    assert Flow.objects.count() == 3
    assert DeploymentSchedule.objects.count() == 40
