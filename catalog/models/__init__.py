"""The catalog's tables, mirroring Prefect's: flows, deployments and their schedules,
global concurrency limits, work pools, work queues and variables; the API keys that let
clients write to them, and the basic auth credentials verified a moment ago. One module a
resource; this package names them all.

Rules the database can hold are constraints here; every other rule lives in
`catalog.rules`, whose checks the fields' validators apply.
"""

from catalog.models.api_keys import (
    API_KEY_NAME_TAKEN,
    API_KEY_PREFIX_LENGTH,
    API_KEY_TAG,
    ApiKey,
    ApiKeyAccess,
    api_key_digest,
)
from catalog.models.calendar import CalendarExpansion
from catalog.models.credentials import VerifiedCredential
from catalog.models.definition_counts import DefinitionCount
from catalog.models.deployment_tags import DeploymentTag
from catalog.models.deployments import (
    FLOW_ID_LABEL,
    NO_SCHEDULE,
    CollisionStrategy,
    Deployment,
    DeploymentJson,
    DeploymentStatus,
    labels_with_flow_id,
)
from catalog.models.flows import Flow
from catalog.models.history import (
    REASON_MAX_LENGTH,
    ChangeKind,
    ChangeSet,
    ObjectType,
    PendingChange,
    Version,
)
from catalog.models.limits import ConcurrencyLimit
from catalog.models.name_grams import DeploymentNameGram
from catalog.models.schedule_counts import ScheduleCounts
from catalog.models.schedules import DeploymentSchedule, ScheduleKind
from catalog.models.variables import Variable
from catalog.models.work_pools import (
    DEFAULT_AGENT_POOL,
    DEFAULT_POOL_TYPE,
    DEFAULT_QUEUE,
    DEFAULT_QUEUE_DESCRIPTION,
    WorkPool,
    WorkQueue,
    WorkStatus,
)

__all__ = [
    "API_KEY_NAME_TAKEN",
    "API_KEY_PREFIX_LENGTH",
    "API_KEY_TAG",
    "DEFAULT_AGENT_POOL",
    "DEFAULT_POOL_TYPE",
    "DEFAULT_QUEUE",
    "DEFAULT_QUEUE_DESCRIPTION",
    "FLOW_ID_LABEL",
    "NO_SCHEDULE",
    "REASON_MAX_LENGTH",
    "ApiKey",
    "ApiKeyAccess",
    "CalendarExpansion",
    "ChangeKind",
    "ChangeSet",
    "CollisionStrategy",
    "ConcurrencyLimit",
    "DefinitionCount",
    "Deployment",
    "DeploymentJson",
    "DeploymentNameGram",
    "DeploymentSchedule",
    "DeploymentStatus",
    "DeploymentTag",
    "Flow",
    "ObjectType",
    "PendingChange",
    "ScheduleCounts",
    "ScheduleKind",
    "Variable",
    "VerifiedCredential",
    "Version",
    "WorkPool",
    "WorkQueue",
    "WorkStatus",
    "api_key_digest",
    "labels_with_flow_id",
]
