"""Shop stock policies (库存同步): what share of the available stock each shop may list on its
platform, and the per-shop quantities the stock push sends (``model.channel_available``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from db.tables import ShopStockPolicyRow
from db.uow import UnitOfWork
from domain import audit
from domain.accounts.model import Actor
from domain.errors import NotFound
from domain.inventory import model
from domain.inventory.access import require_edit, require_read
from domain.inventory.model import ShopStockPolicy


async def set_shop_stock_policy(
    uow: UnitOfWork, actor: Actor, shop_id: int, policy: ShopStockPolicy
) -> ShopStockPolicyRow:
    require_edit(actor, "set stock policies")
    policy = policy.validated()
    if await uow.shops.shop(shop_id) is None:
        raise NotFound("Shop not found", field="shopId")
    row = await uow.shop_policies.row_for_update(shop_id)
    if row is None:
        row = ShopStockPolicyRow(org_id=actor.org_id, shop_id=shop_id)
        uow.shop_policies.add(row)
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
    require_read(actor)
    available = await uow.stock_queries.available_by_sku(sku_ids)
    policies = await uow.shop_policies.policies()
    return {
        sku: model.channel_available(available.get(sku, 0), shop_id, policies) for sku in sku_ids
    }


async def shop_stock_policies(uow: UnitOfWork, actor: Actor) -> list[ShopStockPolicyRow]:
    require_read(actor)
    return await uow.shop_policies.rows()
