# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Flows exercising every annotation Prefect turns into a schema."""

import datetime as dt
import decimal
import pathlib
import typing
import uuid
from datetime import time, timedelta
from typing import Annotated, Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union

from prefect import flow

Mode = Literal["fast", "safe"]
LIMIT = 10
EPSILON = -1.5e-3


@flow
def scalars(
    name: str,
    count: int,
    ratio: float,
    enabled: bool,
    day: dt.date,
    moment: dt.datetime,
    at: time = time(9, 30),
    every: timedelta = None,
    ident: uuid.UUID = None,
    where: pathlib.Path = None,
    amount: decimal.Decimal = None,
    payload: bytes = b"raw",
    anything: Any = None,
    untyped=None,
    nothing: None = None,
):
    pass


@flow
def optionals_and_unions(
    a: Optional[int] = None,
    b: int | None = None,
    c: Union[int, str] = 3,
    d: Union[None, int] = None,
    e: Optional[Union[int, str]] = None,
    f: Union[int, Optional[str]] = 1,
    g: bool | int = False,
    h: Optional[Any] = None,
    i: list[int] | dict[str, int] | None = None,
    j: Optional[dt.date] = None,
    k: str | dt.datetime = "now",
    l: Union[str, int, str] = "",
    m: Optional[Optional[float]] = None,
    n: typing.Optional[typing.List[str]] = None,
):
    pass


@flow
def literals(
    mode: Literal["fast", "safe"] = "fast",
    level: Literal[1, 2, 3] = 1,
    flag: Literal[True] = True,
    only: Literal["x"] = "x",
    mixed: Literal[1, "a"] = 1,
    nullable: Literal["a", None] = None,
    optional: Literal["x"] | None = None,
    repeated: Literal["b", "a", "b"] = "a",
    aliased: Mode = "safe",
    nested: Literal[Literal["p"], "q"] = "q",
    negative: Literal[-1, 0] = 0,
):
    pass


@flow
def collections(
    tags: list[str],
    ids: List[int] = [1, 2],
    matrix: list[list[float]] = [],
    anything: list = [],
    legacy: List = [],
    weights: dict[str, float] = {"a": 0.5},
    settings: Dict[str, Any] = {},
    plain: dict = {"nested": {"z": 1, "a": [{"y": 2, "b": 3}]}},
    bare: Dict = {},
    by_day: dict[dt.date, int] = None,
    by_mode: dict[Literal["x", "y"], int] = None,
    by_number: dict[int, str] = {1: "one", True: "yes"},
    pair: tuple[int, str] = (1, "x"),
    many: tuple[int, ...] = (),
    loose: tuple = (1, 2),
    old_pair: Tuple[str, str] = None,
    empty: tuple[()] = (),
    unique: set[str] = {"b", "a"},
    frozen: frozenset[int] = frozenset(),
    seq: Sequence[int] = (),
    mapping: Mapping[str, int] = None,
    annotated: Annotated[int, "meta"] = 5,
    optional_items: list[Optional[int]] = [None, 1],
):
    pass


@flow
def defaults(
    limit: int = LIMIT,
    epsilon: float = EPSILON,
    negative: int = -3,
    hexed: int = 0x10,
    big: int = 10**30,
    scientific: float = 1e20,
    text: str = 'é\n"quoted"',
    empty: str = "",
    nested: dict = {"b": {"z": 1, "a": 2}, "a": [3, {"y": None, "x": True}]},
    keys: dict = {1: "int", None: "none", False: "bool"},
    items: list = [1, "two", 3.0, None, [True]],
    day: dt.date = dt.date(2024, 1, 31),
    start: dt.datetime = dt.datetime(2024, 1, 31, 6, 0, 0, 250000),
    timeout: int = 60 * 60 * 24,
    half: float = 1 / 2,
    label: str = "run-" + "daily",
    inf: float = float("inf"),
    made: list = list(),
    complex_number: complex = 1 + 2j,
    required_anyway: str = ...,
):
    pass


@flow
def signature_kinds(
    first: int,
    second: str = "x",
    /,
    third: float = 1.0,
    *args: int,
    only: bool,
    later: str = "y",
    **kwargs: str,
):
    pass


@flow
def untyped_variadics(*args, **kwargs):
    pass


@flow
def no_parameters():
    """Nothing to configure."""


@flow
def forward_references(
    a: "int",
    b: "Optional[dt.date]" = None,
    c: list["int"] = [],
    d: Optional["dt.date"] = None,
    e: Optional["typing.List[int]"] = None,
    f: dict[str, "Optional[int]"] = None,
):
    pass


class Connection:
    """A user class Prefect cannot describe: it gives an empty schema."""


@flow
def user_classes(
    conn: Connection, conns: list[Connection] = [], maybe: Optional[Connection] = None
):
    pass
