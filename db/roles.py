"""Which database role orderflow logs in as, and whether that login could bypass RLS.

``orderflow serve`` and ``orderflow worker`` run this before they start: in production a login
that is a superuser or has BYPASSRLS is refused (tenant isolation would rest on application code
alone), in development it is a warning.  The login must also be able to switch to the two roles
the units of work use (``orderflow_app``, ``orderflow_system``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import APP_ROLE, LOGIN_ROLE, SYSTEM_ROLE


@dataclass(frozen=True)
class LoginRole:
    name: str
    superuser: bool
    bypass_rls: bool
    can_use_app_role: bool
    can_use_system_role: bool

    @property
    def bypasses_rls(self) -> bool:
        return self.superuser or self.bypass_rls

    def problems(self) -> list[str]:
        found = []
        if self.superuser:
            found.append("is a superuser")
        elif self.bypass_rls:
            found.append("has BYPASSRLS")
        if not (self.can_use_app_role and self.can_use_system_role):
            found.append(f"is not a member of {APP_ROLE} and {SYSTEM_ROLE}")
        return found


class UnsafeDatabaseLogin(RuntimeError):
    def __init__(self, role: LoginRole) -> None:
        super().__init__(
            f"The database login '{role.name}' {' and '.join(role.problems())}: row-level "
            f"security would not separate sellers. Log in as {LOGIN_ROLE} (created by "
            "`orderflow migrate`; see the README's Production section)."
        )
        self.role = role


async def login_role(engine: AsyncEngine) -> LoginRole:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT r.rolname, r.rolsuper, r.rolbypassrls,"
                    " pg_has_role(r.rolname, :app, 'MEMBER'),"
                    " pg_has_role(r.rolname, :system, 'MEMBER')"
                    " FROM pg_roles r WHERE r.rolname = session_user"
                ),
                {"app": APP_ROLE, "system": SYSTEM_ROLE},
            )
        ).one()
    return LoginRole(
        name=str(row[0]),
        superuser=bool(row[1]),
        bypass_rls=bool(row[2]),
        can_use_app_role=bool(row[3]),
        can_use_system_role=bool(row[4]),
    )
