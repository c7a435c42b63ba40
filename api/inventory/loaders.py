"""Per-request DataLoaders for inventory types (zones, bins, SKU availability, policies,
reservations of orders): one batched query per kind, never one per row.

They live on the request's context beside ``api.loaders.Loaders`` (created on first use), so
a list of stock levels costs the same number of queries whatever its page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TypeVar

from strawberry.dataloader import DataLoader

from api.context import Context
from db.engine import Database
from db.tables import Bin, Reservation, Zone
from db.uow import UnitOfWork
from domain.inventory.model import ShopStockPolicy

V = TypeVar("V")

_CONTEXT_KEY = "_inventory_loaders"


class InventoryLoaders:
    def __init__(self, db: Database, org_id: int) -> None:
        self._db = db
        self._org_id = org_id

    def _batch(
        self,
        fetch: Callable[[UnitOfWork, Sequence[int]], Awaitable[dict[int, V]]],
        default: Callable[[], V],
    ) -> DataLoader[int, V]:
        async def load(keys: list[int]) -> list[V]:
            async with UnitOfWork(self._db, self._org_id) as uow:
                found = await fetch(uow, keys)
            return [found[key] if key in found else default() for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def zone(self) -> DataLoader[int, Zone | None]:
        return self._batch(lambda uow, ids: _optional(uow.layout.zones_by_ids(ids)), _none)

    @cached_property
    def bin(self) -> DataLoader[int, Bin | None]:
        return self._batch(lambda uow, ids: _optional(uow.layout.bins_by_ids(ids)), _none)

    @cached_property
    def sku_available(self) -> DataLoader[int, int]:
        """Available stock of a SKU summed over active warehouses (what channels share)."""
        return self._batch(lambda uow, ids: uow.stock_queries.available_by_sku(ids), int)

    @cached_property
    def shop_policies(self) -> DataLoader[int, dict[int, ShopStockPolicy]]:
        """Every shop's stock policy (one key, 0: the whole organisation's)."""

        async def fetch(
            uow: UnitOfWork, keys: Sequence[int]
        ) -> dict[int, dict[int, ShopStockPolicy]]:
            policies = await uow.shop_policies.policies()
            return dict.fromkeys(keys, policies)

        return self._batch(fetch, dict)

    @cached_property
    def order_reservations(self) -> DataLoader[int, list[Reservation]]:
        async def fetch(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, list[Reservation]]:
            grouped: dict[int, list[Reservation]] = defaultdict(list)
            for row in await uow.stock_queries.reservations_of(ids):
                grouped[row.order_id].append(row)
            return grouped

        return self._batch(fetch, list)


def _none() -> None:
    return None


async def _optional(rows: Awaitable[dict[int, V]]) -> dict[int, V | None]:
    return dict(await rows)


def inventory_loaders(ctx: Context) -> InventoryLoaders:
    """The request's inventory loaders (created on first use, like ``ctx.loaders``)."""
    found: InventoryLoaders | None = ctx.__dict__.get(_CONTEXT_KEY)
    if found is None:
        found = InventoryLoaders(ctx.services.db, ctx.require_actor().org_id)
        ctx.__dict__[_CONTEXT_KEY] = found
    return found
