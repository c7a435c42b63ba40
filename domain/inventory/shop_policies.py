"""Shop stock policies (库存同步): what share of the available stock each shop may list on its
platform, and the per-shop quantities the stock push sends (``model.channel_available``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from db.tables import ShopStockPolicyRow
from db.uow import UnitOfWork
from domain import audit
from domain.accounts.model import Actor, Scope
from domain.accounts.permissions import require
from domain.catalog import service as catalog
from domain.errors import NotFound
from domain.inventory import model, scope
from domain.inventory.model import ShopStockPolicy


async def set_shop_stock_policy(
    uow: UnitOfWork, actor: Actor, shop_id: int, policy: ShopStockPolicy
) -> ShopStockPolicyRow:
    require(actor, Scope.LAYOUT_WRITE, "set stock policies")
    policy = policy.validated()
    if await uow.shops.shop(shop_id) is None:
        raise NotFound("Shop not found", field="shopId")
    row = await uow.shop_policies.lock_policy_row(shop_id)
    row.ratio_percent = policy.ratio_percent
    row.cap = policy.cap
    row.pool = policy.pool
    row.allow_split = policy.allow_split
    row.updated_at = datetime.now(UTC)
    await uow.flush()
    audit.record(
        uow,
        actor,
        "shop.stock_policy",
        "Shop",
        shop_id,
        ratioPercent=policy.ratio_percent,
        cap=policy.cap,
        pool=policy.pool,
        allowSplit=policy.allow_split,
    )
    return row


async def channel_quantities(
    uow: UnitOfWork, actor: Actor, shop_id: int, sku_ids: Sequence[int]
) -> dict[int, int]:
    """What shop ``shop_id`` may list per SKU (the stock push to platforms calls this)."""
    scope.stock(actor).require()
    await catalog.require_shops(uow, actor, [shop_id], "shopId")
    available = await uow.stock_queries.available_by_sku(sku_ids)
    policies = await uow.shop_policies.policies()
    return {
        sku: model.channel_available(available.get(sku, 0), shop_id, policies) for sku in sku_ids
    }


async def shop_stock_policies(uow: UnitOfWork, actor: Actor) -> list[ShopStockPolicyRow]:
    scope.stock(actor).require()
    return await uow.shop_policies.rows()


async def shop_policies(uow: UnitOfWork, actor: Actor) -> dict[int, ShopStockPolicy]:
    """Every shop's policy, for DataLoaders: nothing without ``stock:read``."""
    if not scope.stock(actor).allowed:
        return {}
    return await uow.shop_policies.policies()
