"""Who writes through the admin: the context every admin write hands to the write core,
and the actor Prefect's API renders for an admin user."""

from django.contrib.auth.models import AbstractBaseUser

from catalog.services.context import Actor, Door, WriteContext, user_actor_json


def admin_context(request, reason: str | None = None) -> WriteContext:
    return WriteContext(Actor.of_user(request.user), Door.ADMIN, reason)


def actor_for(user: AbstractBaseUser) -> dict:
    """`created_by` / `updated_by` as Prefect renders them, for an admin user."""
    return user_actor_json(user.pk, user.get_username())
