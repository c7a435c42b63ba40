"""Bad input changes nothing: every refusal is a typed error and the tables are as before."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.errors import DomainError, ErrorCode
from domain.inventory import stock_moves
from domain.inventory.model import AdjustLine, ReceiveLine, SafetyLine, TransferLine
from tests.support.factories import Seller, make_org
from tests.support.inventory import Layout, make_layout, receive
from tests.support.sql import org_connection


async def _snapshot(db: Database, org_id: int) -> tuple[Any, ...]:
    async with org_connection(db, org_id) as conn:
        stock = (
            await conn.execute(
                text(
                    "SELECT id, on_hand, reserved, safety FROM stock"
                    " WHERE org_id = :org ORDER BY id"
                ),
                {"org": org_id},
            )
        ).all()
        ledger = await conn.scalar(
            text("SELECT count(*) FROM stock_ledger WHERE org_id = :org"), {"org": org_id}
        )
        outbox = await conn.scalar(
            text("SELECT count(*) FROM outbox WHERE org_id = :org"), {"org": org_id}
        )
        audit = await conn.scalar(
            text("SELECT count(*) FROM audit_log WHERE org_id = :org"), {"org": org_id}
        )
    return (tuple(stock), ledger, outbox, audit)


@pytest.fixture
async def world(db: Database) -> tuple[Seller, Layout, int]:
    seller = await make_org(db)
    layout = await make_layout(db, seller, extra_warehouses=[("WH2", [], 5)])
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id(0, 0))
    return seller, layout, sku


Call = Callable[[UnitOfWork, Seller, Layout, int], Awaitable[object]]


def _receive(items: Callable[[Layout, int], list[ReceiveLine]], warehouse: int = 0) -> Call:
    async def call(uow: UnitOfWork, seller: Seller, layout: Layout, sku: int) -> object:
        warehouse_id = layout.warehouses[warehouse].id
        assert warehouse_id is not None
        return await stock_moves.receive_stock(
            uow, seller.actor(), warehouse_id=warehouse_id, items=items(layout, sku)
        )

    return call


def _transfer(items: Callable[[Layout, int], list[TransferLine]]) -> Call:
    async def call(uow: UnitOfWork, seller: Seller, layout: Layout, sku: int) -> object:
        return await stock_moves.transfer_stock(uow, seller.actor(), items=items(layout, sku))

    return call


def _adjust(items: Callable[[Layout, int], list[AdjustLine]], reason: str = "盘点") -> Call:
    async def call(uow: UnitOfWork, seller: Seller, layout: Layout, sku: int) -> object:
        return await stock_moves.adjust_stock(
            uow, seller.actor(), items=items(layout, sku), reason=reason
        )

    return call


CASES: dict[str, tuple[Call, ErrorCode, str | None]] = {
    "receive zero": (
        _receive(lambda lay, sku: [ReceiveLine(sku, lay.bin_id(), 0)]),
        ErrorCode.NEGATIVE_QUANTITY,
        "items.0.quantity",
    ),
    "receive negative": (
        _receive(lambda lay, sku: [ReceiveLine(sku, lay.bin_id(), -3)]),
        ErrorCode.NEGATIVE_QUANTITY,
        "items.0.quantity",
    ),
    "receive unknown sku (second line)": (
        _receive(
            lambda lay, sku: [
                ReceiveLine(sku, lay.bin_id(), 1),
                ReceiveLine(10**12, lay.bin_id(), 1),
            ]
        ),
        ErrorCode.UNKNOWN_SKU,
        "items.1.skuId",
    ),
    "receive unknown bin": (
        _receive(lambda lay, sku: [ReceiveLine(sku, 10**12, 1)]),
        ErrorCode.UNKNOWN_BIN,
        "items.0.binId",
    ),
    "receive into a bin of another warehouse": (
        _receive(
            lambda lay, sku: [
                ReceiveLine(sku, lay.bin_id(0, 1), 1),
                ReceiveLine(sku, lay.bin_id(1, 0), 1),
            ]
        ),
        ErrorCode.BIN_WAREHOUSE_MISMATCH,
        "items.1.binId",
    ),
    "transfer to the same bin": (
        _transfer(lambda lay, sku: [TransferLine(sku, lay.bin_id(), lay.bin_id(), 1)]),
        ErrorCode.SAME_BIN,
        "items.0.toBinId",
    ),
    "transfer more than unreserved": (
        _transfer(
            lambda lay, sku: [
                TransferLine(sku, lay.bin_id(0, 0), lay.bin_id(0, 1), 3),
                TransferLine(sku, lay.bin_id(0, 0), lay.bin_id(0, 2), 3),
            ]
        ),
        ErrorCode.INSUFFICIENT_STOCK,
        "items.1.quantity",
    ),
    "transfer zero": (
        _transfer(lambda lay, sku: [TransferLine(sku, lay.bin_id(0, 0), lay.bin_id(0, 1), 0)]),
        ErrorCode.NEGATIVE_QUANTITY,
        "items.0.quantity",
    ),
    "transfer from an empty bin": (
        _transfer(lambda lay, sku: [TransferLine(sku, lay.bin_id(0, 2), lay.bin_id(0, 1), 1)]),
        ErrorCode.INSUFFICIENT_STOCK,
        "items.0.quantity",
    ),
    "adjust below zero": (
        _adjust(lambda lay, sku: [AdjustLine(sku, lay.bin_id(), delta=-6)]),
        ErrorCode.INSUFFICIENT_STOCK,
        "items.0.delta",
    ),
    "adjust without reason": (
        _adjust(lambda lay, sku: [AdjustLine(sku, lay.bin_id(), delta=1)], reason="  "),
        ErrorCode.INVALID_INPUT,
        "reason",
    ),
    "adjust to a negative count": (
        _adjust(lambda lay, sku: [AdjustLine(sku, lay.bin_id(), counted=-1)]),
        ErrorCode.NEGATIVE_QUANTITY,
        "items.0.counted",
    ),
    "adjust by zero": (
        _adjust(lambda lay, sku: [AdjustLine(sku, lay.bin_id(), delta=0)]),
        ErrorCode.INVALID_INPUT,
        "items.0.delta",
    ),
    "no lines": (
        _receive(lambda lay, sku: []),
        ErrorCode.INVALID_INPUT,
        "items",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_input_is_refused_and_changes_nothing(
    db: Database, world: tuple[Seller, Layout, int], case: str
) -> None:
    seller, layout, sku = world
    call, code, field = CASES[case]
    before = await _snapshot(db, seller.org_id)
    with pytest.raises(DomainError) as caught:
        async with UnitOfWork(db, seller.org_id) as uow:
            await call(uow, seller, layout, sku)
            await uow.commit()
    assert caught.value.code is code, caught.value.message
    assert caught.value.field == field
    assert await _snapshot(db, seller.org_id) == before


async def test_safety_stock_cannot_be_negative_nor_set_by_a_service_user(
    db: Database, world: tuple[Seller, Layout, int]
) -> None:
    seller, layout, sku = world
    before = await _snapshot(db, seller.org_id)
    with pytest.raises(DomainError) as caught:
        async with UnitOfWork(db, seller.org_id) as uow:
            await stock_moves.set_safety_stock(
                uow, seller.actor(), items=[SafetyLine(sku, layout.bin_id(), -1)]
            )
    assert caught.value.code is ErrorCode.NEGATIVE_QUANTITY
    with pytest.raises(DomainError) as caught:
        async with UnitOfWork(db, seller.org_id) as uow:
            await stock_moves.set_safety_stock(
                uow, seller.actor(Role.SERVICE), items=[SafetyLine(sku, layout.bin_id(), 1)]
            )
    assert caught.value.code is ErrorCode.FORBIDDEN
    assert await _snapshot(db, seller.org_id) == before


async def test_the_database_refuses_oversell_even_if_code_is_wrong(
    db: Database, world: tuple[Seller, Layout, int]
) -> None:
    seller, _, sku = world
    async with org_connection(db, seller.org_id) as conn:
        with pytest.raises(Exception, match="stock_reserved_within_on_hand"):
            await conn.execute(
                text(
                    "UPDATE stock SET reserved = on_hand + 1 WHERE org_id = :org AND sku_id = :sku"
                ),
                {"org": seller.org_id, "sku": sku},
            )
