"""Who writes, through which door, and why: carried by every call into the write core, so
that history and `updated_by` are decided in one place."""

import uuid
from dataclasses import dataclass
from enum import StrEnum

# Django users have integer ids; Prefect's `created_by.id` is a UUID, derived here.
USER_NAMESPACE = uuid.UUID("0b5e3c1a-7f0e-4d9b-9b1e-3c6f2a4d8e71")


class Door(StrEnum):
    API = "api"
    ADMIN = "admin"
    IMPORT = "import"
    COMMAND = "command"
    # A write made outside every door: SQL by hand, a Django shell.
    OTHER = "other"


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    IMPORT = "import"
    # Someone at the server's shell, running a management command.
    OPERATOR = "operator"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str
    id: str | None = None
    user_id: int | None = None

    @classmethod
    def of_user(cls, user) -> "Actor":
        return cls(ActorKind.USER, user.get_username(), str(user.pk), user.pk)

    @classmethod
    def of_api_key(cls, key) -> "Actor":
        user_id = key.user_id if key.user_id else None
        return cls(ActorKind.API_KEY, f"{key.name} ({key.prefix}…)", str(key.pk), user_id)

    @classmethod
    def of_import(cls, source: str) -> "Actor":
        return cls(ActorKind.IMPORT, source)

    @classmethod
    def of_operator(cls, name: str) -> "Actor":
        return cls(ActorKind.OPERATOR, name)

    @classmethod
    def system(cls, name: str = "catalog") -> "Actor":
        return cls(ActorKind.SYSTEM, name)


@dataclass(frozen=True)
class WriteContext:
    actor: Actor
    door: Door
    reason: str | None = None

    def stamped_actor(self) -> dict | None:
        """What the write puts in `created_by` / `updated_by`: the admin's user, as Prefect
        renders an actor. Prefect's own server leaves them to Prefect Cloud, so API writes
        leave them as they are, and an import keeps the record's own."""
        if self.door != Door.ADMIN or self.actor.kind != ActorKind.USER:
            return None
        return user_actor_json(self.actor.user_id, self.actor.name)


def user_actor_json(user_id, username: str) -> dict:
    """`created_by` / `updated_by` as Prefect renders them, for a Django user."""
    return {
        "id": str(uuid.uuid5(USER_NAMESPACE, f"user:{user_id}")),
        "type": "USER",
        "display_value": username,
    }
