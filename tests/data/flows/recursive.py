# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Models that refer to themselves or to each other."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel

from prefect import flow


class Node(BaseModel):
    name: str
    children: list[Node] = []
    parent: Optional["Node"] = None


class Employee(BaseModel):
    name: str
    department: Optional[Department] = None


class Department(BaseModel):
    title: str
    staff: list[Employee] = []
    head: Employee | None = None


@flow
def walk_tree(root: Node, limit: int = 10):
    pass


@flow
def org_chart(department: Department, people: list[Employee] = []):
    pass
