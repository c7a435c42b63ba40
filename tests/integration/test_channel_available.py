"""channelAvailable(shopId:) answers for the caller's own shops only."""

from __future__ import annotations

from api.ids import to_global_id
from db.engine import Database
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.errors import NotFound
from domain.inventory import shop_policies
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_org
from tests.support.inventory import make_layout, receive

LEVELS = """query($shop: ID!) {
  stockLevels { nodes { skuAvailable channelAvailable(shopId: $shop) } }
}"""


async def test_an_unknown_or_foreign_shop_is_not_found_not_all_of_the_stock(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    other = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 10, bin_id=layout.bin_id())
    token = client.token_for(seller, Role.WAREHOUSE)
    own = await client.data(
        LEVELS, {"shop": to_global_id("Shop", seller.shop.id or 0)}, token=token
    )
    assert own["stockLevels"]["nodes"] == [{"skuAvailable": 10, "channelAvailable": 10}]
    for shop in (other.shop.id or 0, 10**12):
        body = await client.gql(LEVELS, {"shop": to_global_id("Shop", shop)}, token=token)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "NOT_FOUND", "field": "shopId"}
        assert error["path"] == ["stockLevels", "nodes", 0, "channelAvailable"]

    async with UnitOfWork(db, seller.org_id) as uow:
        try:
            await shop_policies.channel_quantities(uow, seller.actor(), other.shop.id or 0, [sku])
        except NotFound as exc:
            assert exc.field == "shopId"
        else:
            raise AssertionError("another seller's shop got quantities")
