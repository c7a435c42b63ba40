"""Warehouse layout use cases: warehouses (仓库) with the provinces they serve, zones (拣货区) in
walk order, and bins (库位) in walk sequence.  They run in the caller's unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db.integrity import duplicate
from db.tables import Bin, Warehouse, Zone
from db.uow import UnitOfWork
from domain import audit
from domain.accounts.model import Actor, Scope
from domain.accounts.permissions import require
from domain.errors import Duplicate, InvalidInput
from domain.inventory import model, scope
from domain.inventory.errors import UnknownBin, UnknownWarehouse, UnknownZone
from domain.inventory.queries import one, require_stock_ids
from domain.paging import Page, PageResult


def _check_name(value: str, field_name: str, *, max_length: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field_name} is required", field=field_name)
    if len(value) > max_length:
        raise InvalidInput(f"{field_name} is at most {max_length} characters", field=field_name)
    return value


def _check_provinces(provinces: Sequence[str]) -> list[str]:
    cleaned = [p.strip() for p in provinces if p.strip()]
    for p in cleaned:
        if len(p) > 32:
            raise InvalidInput("A province name is at most 32 characters", field="provinces")
    return list(dict.fromkeys(cleaned))


async def create_warehouse(
    uow: UnitOfWork,
    actor: Actor,
    *,
    code: str,
    name: str,
    address: str = "",
    provinces: Sequence[str] = (),
    priority: int = 100,
) -> Warehouse:
    require(actor, Scope.LAYOUT_WRITE, "manage warehouses")
    code = _check_name(code, "code", max_length=32).upper()
    name = _check_name(name, "name", max_length=200)
    if await uow.layout.warehouse_by_code(code) is not None:
        raise duplicate("warehouses_org_id_code_key")
    warehouse = Warehouse(
        org_id=actor.org_id,
        code=code,
        name=name,
        address=address.strip(),
        provinces=_check_provinces(provinces),
        priority=priority,
    )
    await uow.layout.add(warehouse)
    audit.record(uow, actor, "warehouse.create", "Warehouse", warehouse.id, code=code)
    return warehouse


async def update_warehouse(
    uow: UnitOfWork,
    actor: Actor,
    warehouse_id: int,
    *,
    name: str | None = None,
    address: str | None = None,
    provinces: Sequence[str] | None = None,
    priority: int | None = None,
    is_active: bool | None = None,
) -> Warehouse:
    require(actor, Scope.LAYOUT_WRITE, "manage warehouses")
    warehouse = await uow.layout.warehouse(warehouse_id)
    if warehouse is None:
        raise UnknownWarehouse("id")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _check_name(name, "name", max_length=200)
    if address is not None:
        changes["address"] = address.strip()
    if provinces is not None:
        changes["provinces"] = _check_provinces(provinces)
    if priority is not None:
        changes["priority"] = priority
    if is_active is not None:
        changes["is_active"] = is_active
    for key, value in changes.items():
        setattr(warehouse, key, value)
    await uow.flush()
    audit.record(uow, actor, "warehouse.update", "Warehouse", warehouse_id, **changes)
    return warehouse


async def create_zone(
    uow: UnitOfWork,
    actor: Actor,
    *,
    warehouse_id: int,
    code: str,
    name: str = "",
    walk_order: int = 0,
) -> Zone:
    require(actor, Scope.LAYOUT_WRITE, "manage zones")
    code = model.check_zone_code(code)
    name = _check_name(name, "name", max_length=100, required=False)
    if await uow.layout.warehouse(warehouse_id) is None:
        raise UnknownWarehouse("warehouseId")
    if await uow.layout.zone_by_code(warehouse_id, code) is not None:
        raise duplicate("zones_org_id_warehouse_id_code_key")
    zone = Zone(
        org_id=actor.org_id,
        warehouse_id=warehouse_id,
        code=code,
        name=name,
        walk_order=walk_order,
    )
    await uow.layout.add(zone)
    audit.record(uow, actor, "zone.create", "Zone", zone.id, code=code, warehouseId=warehouse_id)
    return zone


async def update_zone(
    uow: UnitOfWork,
    actor: Actor,
    zone_id: int,
    *,
    name: str | None = None,
    walk_order: int | None = None,
) -> Zone:
    require(actor, Scope.LAYOUT_WRITE, "manage zones")
    zone = await uow.layout.zone(zone_id)
    if zone is None:
        raise UnknownZone("id")
    if name is not None:
        zone.name = _check_name(name, "name", max_length=100, required=False)
    if walk_order is not None:
        zone.walk_order = walk_order
    await uow.flush()
    audit.record(uow, actor, "zone.update", "Zone", zone_id, name=zone.name, walkOrder=walk_order)
    return zone


@dataclass(frozen=True)
class BinDraft:
    code: str
    walk_seq: int = 0


async def create_bins(
    uow: UnitOfWork, actor: Actor, *, zone_id: int, bins: Sequence[BinDraft]
) -> list[Bin]:
    """库位: add bins to a zone, all or none."""
    require(actor, Scope.LAYOUT_WRITE, "manage bins")
    model.check_items(bins, "bins")
    zone = await uow.layout.zone(zone_id)
    if zone is None:
        raise UnknownZone("zoneId")
    codes: list[str] = []
    for i, draft in enumerate(bins):
        codes.append(model.check_bin_code(draft.code, f"bins.{i}.code"))
        if draft.walk_seq < 0:
            raise InvalidInput("The walk sequence cannot be negative", field=f"bins.{i}.walkSeq")
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            raise Duplicate(f"Bin {code} is listed twice", field=f"bins.{i}.code")
        seen.add(code)
    await _refuse_taken_bin_codes(uow, zone.warehouse_id, codes)
    rows = [
        Bin(
            org_id=actor.org_id,
            warehouse_id=zone.warehouse_id,
            zone_id=zone_id,
            code=code,
            walk_seq=draft.walk_seq,
        )
        for code, draft in zip(codes, bins, strict=True)
    ]
    try:
        async with uow.savepoint():
            await uow.layout.add_bins(rows)
    except Duplicate:
        # A concurrent request added one of these codes after the check above (the database
        # does not say which code under RLS): the check, run again now that the other
        # request has committed, names the input row.
        await _refuse_taken_bin_codes(uow, zone.warehouse_id, codes)
        raise
    audit.record(uow, actor, "bin.create", "Zone", zone_id, codes=codes)
    return rows


async def _refuse_taken_bin_codes(uow: UnitOfWork, warehouse_id: int, codes: list[str]) -> None:
    taken = await uow.layout.bin_codes_taken(warehouse_id, codes)
    for i, code in enumerate(codes):
        if code in taken:
            error = duplicate("bins_org_id_warehouse_id_code_key")
            error.field = f"bins.{i}.code"
            raise error


async def update_bin(
    uow: UnitOfWork,
    actor: Actor,
    bin_id: int,
    *,
    code: str | None = None,
    walk_seq: int | None = None,
) -> Bin:
    require(actor, Scope.LAYOUT_WRITE, "manage bins")
    found = await uow.layout.bins_by_ids([bin_id])
    if bin_id not in found:
        raise UnknownBin("id")
    row = found[bin_id]
    if code is not None:
        code = model.check_bin_code(code)
        if code != row.code and await uow.layout.bin_codes_taken(row.warehouse_id, [code]):
            raise duplicate("bins_org_id_warehouse_id_code_key")
        row.code = code
    if walk_seq is not None:
        if walk_seq < 0:
            raise InvalidInput("The walk sequence cannot be negative", field="walkSeq")
        row.walk_seq = walk_seq
    await uow.flush()
    audit.record(uow, actor, "bin.update", "Bin", bin_id, code=row.code, walkSeq=row.walk_seq)
    return row


# -- reading: every path asks domain/inventory/scope.py ----------------------------------------
async def zones_of(uow: UnitOfWork, actor: Actor, warehouse_id: int) -> list[Zone]:
    scope.stock(actor).require()
    await require_stock_ids(uow, warehouse_ids=[warehouse_id], field="warehouseId")
    return (await uow.layout.zones_for_warehouses([warehouse_id]))[warehouse_id]


async def find_bins(
    uow: UnitOfWork,
    actor: Actor,
    *,
    zone_id: int | None,
    warehouse_id: int | None,
    page: Page,
) -> PageResult[Bin]:
    await _readable_bins_filter(uow, actor, zone_id, warehouse_id)
    return await uow.layout.list_bins(zone_id, warehouse_id, page)


async def count_bins(
    uow: UnitOfWork, actor: Actor, *, zone_id: int | None, warehouse_id: int | None
) -> int:
    await _readable_bins_filter(uow, actor, zone_id, warehouse_id)
    return await uow.layout.count_bins(zone_id, warehouse_id)


async def _readable_bins_filter(
    uow: UnitOfWork, actor: Actor, zone_id: int | None, warehouse_id: int | None
) -> None:
    scope.stock(actor).require()
    await require_stock_ids(uow, warehouse_ids=one(warehouse_id), field="warehouseId")
    await require_stock_ids(uow, zone_ids=one(zone_id), field="zoneId")


# -- by id (node, DataLoaders): only what the actor may read, nothing without stock:read --------
async def zones_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Zone]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.layout.zones_by_ids(ids)


async def bins_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Bin]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.layout.bins_by_ids(ids)
