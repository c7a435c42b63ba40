"""Per-request DataLoaders for inventory types (zones, bins, stock levels, the ledger,
reservations, backorders, SKU availability, policies): one batched query per kind, never one per
row, each through the inventory service with the request's actor, so nothing outside its
readable scope (``stock:read``) is ever returned.

They live on the request's context beside ``api.loaders.Loaders`` (created on first use), so
a list of stock levels costs the same number of queries whatever its page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import TypeVar

from strawberry.dataloader import DataLoader

from api.context import Context
from db.engine import Database
from db.tables import Backorder, Bin, Reservation, Stock, StockLedgerEntry, Zone
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.inventory import layout, queries, shop_policies
from domain.inventory.model import ShopStockPolicy

V = TypeVar("V")

_CONTEXT_KEY = "_inventory_loaders"


class InventoryLoaders:
    def __init__(self, db: Database, actor: Actor) -> None:
        self._db = db
        self._actor = actor

    def _batch(
        self,
        fetch: Callable[[UnitOfWork, Actor, Sequence[int]], Awaitable[Mapping[int, V]]],
        default: Callable[[], V],
    ) -> DataLoader[int, V]:
        async def load(keys: list[int]) -> list[V]:
            async with UnitOfWork(self._db, self._actor.org_id) as uow:
                found = await fetch(uow, self._actor, keys)
            return [found[key] if key in found else default() for key in keys]

        return DataLoader(load_fn=load)

    def _rows(
        self, fetch: Callable[[UnitOfWork, Actor, Sequence[int]], Awaitable[Mapping[int, V]]]
    ) -> DataLoader[int, V | None]:
        return self._batch(fetch, _none)

    @cached_property
    def zone(self) -> DataLoader[int, Zone | None]:
        return self._rows(layout.zones_by_ids)

    @cached_property
    def bin(self) -> DataLoader[int, Bin | None]:
        return self._rows(layout.bins_by_ids)

    @cached_property
    def stock_level(self) -> DataLoader[int, Stock | None]:
        return self._rows(queries.stock_levels_by_ids)

    @cached_property
    def ledger_entry(self) -> DataLoader[int, StockLedgerEntry | None]:
        return self._rows(queries.ledger_by_ids)

    @cached_property
    def reservation(self) -> DataLoader[int, Reservation | None]:
        return self._rows(queries.reservations_by_ids)

    @cached_property
    def backorder(self) -> DataLoader[int, Backorder | None]:
        return self._rows(queries.backorders_by_ids)

    @cached_property
    def sku_available(self) -> DataLoader[int, int]:
        """Available stock of a SKU summed over active warehouses (what channels share)."""
        return self._batch(queries.available_by_sku, int)

    @cached_property
    def shop_policies(self) -> DataLoader[int, dict[int, ShopStockPolicy]]:
        """Every shop's stock policy (one key, 0: the whole organisation's)."""

        async def fetch(
            uow: UnitOfWork, actor: Actor, keys: Sequence[int]
        ) -> dict[int, dict[int, ShopStockPolicy]]:
            policies = await shop_policies.shop_policies(uow, actor)
            return dict.fromkeys(keys, policies)

        return self._batch(fetch, dict)

    @cached_property
    def order_reservations(self) -> DataLoader[int, list[Reservation]]:
        async def fetch(
            uow: UnitOfWork, actor: Actor, ids: Sequence[int]
        ) -> dict[int, list[Reservation]]:
            grouped: dict[int, list[Reservation]] = defaultdict(list)
            for row in await queries.reservations_of_orders(uow, actor, ids):
                grouped[row.order_id].append(row)
            return grouped

        return self._batch(fetch, list)


def _none() -> None:
    return None


def inventory_loaders(ctx: Context) -> InventoryLoaders:
    """The request's inventory loaders (created on first use, like ``ctx.loaders``)."""
    found: InventoryLoaders | None = ctx.__dict__.get(_CONTEXT_KEY)
    if found is None:
        found = InventoryLoaders(ctx.services.db, ctx.require_actor())
        ctx.__dict__[_CONTEXT_KEY] = found
    return found
