"""SQL for organisations, users, API tokens and suppliers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.repositories._base import Keyset, keyset_page
from db.tables import ApiToken, Organization, RoleRow, Supplier, User
from domain.accounts.model import Role
from domain.paging import Page, PageResult

#: Users by username; served by the unique (org_id, username).
USERNAMES = Keyset(col(User.username), col(User.id))


class AccountRepository:
    """Some look-ups here (by organisation slug, by token prefix) run before an organisation is
    known, in a system unit of work; everything else is filtered by ``org_id``."""

    def __init__(self, session: AsyncSession, org_id: int | None) -> None:
        self.session = session
        self.org_id = org_id

    def _org(self) -> int:
        if self.org_id is None:
            raise RuntimeError("organisation-scoped query in a system unit of work")
        return self.org_id

    # organisations ----------------------------------------------------------------------------
    async def org_by_slug(self, slug: str) -> Organization | None:
        return await self.session.scalar(select(Organization).where(col(Organization.slug) == slug))

    async def org_ids(self) -> list[int]:
        """Every organisation (system scope: sweeps visit each one in a scoped unit of work)."""
        stmt = select(col(Organization.id)).order_by(col(Organization.id))
        return [org_id for org_id in await self.session.scalars(stmt) if org_id is not None]

    async def org_by_id(self, org_id: int) -> Organization | None:
        return await self.session.get(Organization, org_id)

    async def add_org(self, slug: str, name: str) -> Organization:
        org = Organization(slug=slug, name=name)
        self.session.add(org)
        await self.session.flush()
        return org

    async def roles(self) -> Sequence[RoleRow]:
        return (await self.session.scalars(select(RoleRow).order_by(col(RoleRow.code)))).all()

    # users -------------------------------------------------------------------------------------
    async def user_by_username(self, org_id: int, username: str) -> User | None:
        return await self.session.scalar(
            select(User).where(
                col(User.org_id) == org_id, func.lower(User.username) == username.lower()
            )
        )

    async def user(self, user_id: int, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(col(User.id) == user_id, col(User.org_id) == self._org())
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def user_for_auth(self, org_id: int, user_id: int) -> User | None:
        return await self.session.scalar(
            select(User).where(col(User.id) == user_id, col(User.org_id) == org_id)
        )

    async def lock_active_owners(self) -> list[int]:
        """Lock the organisation's active OWNER rows (in id order, so two callers never deadlock)
        and return their ids: whoever holds them may change who is an owner."""
        rows = await self.session.scalars(
            select(col(User.id))
            .where(
                col(User.org_id) == self._org(),
                col(User.role) == Role.OWNER.value,
                col(User.is_active).is_(True),
            )
            .order_by(col(User.id))
            .with_for_update()
        )
        return [user_id for user_id in rows if user_id is not None]

    async def users_by_ids(self, ids: Sequence[int]) -> dict[int, User]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(User).where(col(User.id).in_(set(ids)), col(User.org_id) == self._org())
        )
        return {row.id: row for row in rows if row.id is not None}

    def users_query(self, role: str | None, search: str | None) -> Select[User]:
        stmt = select(User).where(col(User.org_id) == self._org())
        if role:
            stmt = stmt.where(col(User.role) == role)
        if search:
            pattern = f"%{search.lower()}%"
            stmt = stmt.where(
                func.lower(User.username).like(pattern)
                | func.lower(User.display_name).like(pattern)
            )
        return stmt

    async def list_users(
        self, *, role: str | None, search: str | None, page: Page
    ) -> PageResult[User]:
        return await keyset_page(self.session, self.users_query(role, search), USERNAMES, page)

    async def count_users(self, *, role: str | None, search: str | None) -> int:
        stmt = self.users_query(role, search)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        return int(total or 0)

    async def add_user(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def touch_login(self, user_id: int, at: datetime) -> None:
        await self.session.execute(
            update(User).where(col(User.id) == user_id).values(last_login_at=at)
        )

    # suppliers ---------------------------------------------------------------------------------
    async def supplier(self, supplier_id: int) -> Supplier | None:
        return await self.session.scalar(
            select(Supplier).where(
                col(Supplier.id) == supplier_id, col(Supplier.org_id) == self._org()
            )
        )

    async def supplier_by_name(self, name: str) -> Supplier | None:
        return await self.session.scalar(
            select(Supplier).where(col(Supplier.name) == name, col(Supplier.org_id) == self._org())
        )

    async def supplier_named(self, name: str) -> Supplier:
        """The supplier of this name, created if missing: two owners adding users of one new
        supplier at once share the row instead of one failing on the unique name."""
        await self.session.execute(
            insert(Supplier)
            .values(org_id=self._org(), name=name)
            .on_conflict_do_nothing(index_elements=["org_id", "name"])
        )
        supplier = await self.supplier_by_name(name)
        assert supplier is not None  # inserted above, or by the transaction it waited for
        return supplier

    async def add_supplier(self, name: str) -> Supplier:
        supplier = Supplier(org_id=self._org(), name=name)
        self.session.add(supplier)
        await self.session.flush()
        return supplier

    # API tokens --------------------------------------------------------------------------------
    async def tokens_by_prefix(self, prefix: str) -> Sequence[ApiToken]:
        """Every organisation's tokens with this prefix (system scope; prefixes are random, so
        almost always one row; the caller checks each row's hash)."""
        return (
            await self.session.scalars(select(ApiToken).where(col(ApiToken.prefix) == prefix))
        ).all()

    async def token(self, token_id: int) -> ApiToken | None:
        return await self.session.scalar(
            select(ApiToken).where(
                col(ApiToken.id) == token_id, col(ApiToken.org_id) == self._org()
            )
        )

    async def tokens_by_ids(self, ids: Collection[int]) -> dict[int, ApiToken]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(ApiToken).where(
                col(ApiToken.id).in_(set(ids)), col(ApiToken.org_id) == self._org()
            )
        )
        return {row.id: row for row in rows if row.id is not None}

    async def tokens(self) -> Sequence[ApiToken]:
        return (
            await self.session.scalars(
                select(ApiToken)
                .where(col(ApiToken.org_id) == self._org())
                .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
            )
        ).all()

    async def add_token(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        await self.session.flush()
        return token

    async def touch_token(self, token_id: int, at: datetime) -> None:
        await self.session.execute(
            update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=at)
        )
