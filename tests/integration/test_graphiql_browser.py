"""GraphiQL in a real browser with the internet cut off: the page renders from orderflow's own
assets, signs in with a cookie session, and sends the CSRF header for mutations by itself."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from strawberry.http.ides import get_graphql_ide_html

from api.app import AppOptions, create_app
from api.auth import CSRF_COOKIE, CSRF_HEADER
from api.ids import to_global_id
from db.settings import Settings
from domain.accounts.model import Role
from tests.integration.test_api_orders import CREATE, order_input
from tests.support.api import GraphQLClient
from tests.support.browser import artifact_path, chromium_or_reason
from tests.support.factories import PASSWORD, Seller
from tests.support.live_server import live_server

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is a dev dependency: pip install -e '.[dev]'"
)

TIMEOUT_MS = 20_000
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def chromium() -> str:
    path, reason = chromium_or_reason()
    if path is None:
        pytest.skip(f"no browser for the GraphiQL test: {reason}")
    return path


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[str]:
    # The relay runs in the server, as in `orderflow demo`, so subscriptions get their events.
    async with live_server(create_app(settings, AppOptions(run_relay=True))) as base_url:
        yield base_url


async def loopback_only(route: Any, blocked: list[str]) -> None:
    """The internet is cut off: anything but this machine fails, as in a closed network."""
    url = route.request.url
    if url.startswith("data:") or urlsplit(url).hostname in LOOPBACK:
        await route.continue_()
    else:
        blocked.append(url)
        await route.abort("internetdisconnected")


class GraphiQLPage:
    """Drives the page as a person would: editor, run button, response pane, tabs."""

    def __init__(self, page: Any) -> None:
        self.page = page

    async def type_query(self, query: str) -> None:
        editor = self.page.locator(".graphiql-query-editor .CodeMirror").first
        await editor.click()
        await self.page.keyboard.press("Control+A")
        await self.page.keyboard.press("Delete")
        # Inserted as typed text; key-by-key typing would fight the editor's auto-closing brackets.
        await self.page.keyboard.insert_text(query)
        # GraphiQL parses the editor 100 ms after the last change (debounced) and decides from that
        # parse whether an operation is a subscription (websocket) or not (HTTP): a person never
        # clicks that fast, a test must wait.
        await self.page.wait_for_timeout(300)

    async def response_text(self) -> str:
        text: str = await self.page.evaluate(
            "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
        )
        return text

    async def run(self, query: str, *, expect: str) -> dict[str, Any]:
        """Type ``query``, run it, and return the response once it contains ``expect``."""
        await self.type_query(query)
        await self.page.locator(".graphiql-execute-button").click()
        await self.page.wait_for_function(
            """(expect) => {
                const cm = document.querySelector('.graphiql-response .CodeMirror');
                return cm && cm.CodeMirror.getValue().includes(expect);
            }""",
            arg=expect,
            timeout=TIMEOUT_MS,
        )
        body: dict[str, Any] = json.loads(await self.response_text())
        return body

    async def new_tab(self) -> None:
        await self.page.locator(".graphiql-tab-add").click()


async def test_graphiql_works_offline_with_a_cookie_session(
    chromium: str, server: str, seller: Seller, client: GraphQLClient
) -> None:
    blocked: list[str] = []
    graphql_posts: list[dict[str, Any]] = []
    errors: list[str] = []

    async def on_request(request: Any) -> None:
        if request.method == "POST" and urlsplit(request.url).path == "/graphql":
            graphql_posts.append(
                {"headers": await request.all_headers(), "body": request.post_data or ""}
            )

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            await context.route("**/*", lambda route: loopback_only(route, blocked))
            page = await context.new_page()
            page.on("request", on_request)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{server}/graphql")
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror")
            graphiql = GraphiQLPage(page)

            # 1. Sign in from the editor with a cookie session.
            login = await graphiql.run(
                "mutation { login(input: {organization: "
                f'"{seller.slug}", username: "manager", password: "{PASSWORD}", '
                "useCookie: true}) { csrfToken viewer { role } errors { code } } }",
                expect='"role"',
            )
            assert login["data"]["login"]["errors"] == []
            assert login["data"]["login"]["viewer"]["role"] == "MANAGER"
            cookies = {c["name"]: c["value"] for c in await context.cookies()}
            assert cookies[CSRF_COOKIE] == login["data"]["login"]["csrfToken"]

            # 2. A query on the cookie session.
            listed = await graphiql.run("{ orders(first: 5) { totalCount } }", expect="totalCount")
            assert listed["data"]["orders"]["totalCount"] >= 0

            # 3. A mutation: cookie-authenticated, so it needs the CSRF header, which nobody typed.
            sku = seller.skus[0]
            assert sku.id is not None
            created = await graphiql.run(
                'mutation { createOrder(input: {receiver: {name: "王五", phone: "13700001111",'
                ' province: "浙江省", city: "杭州市", district: "西湖区", address: "文三路 1 号"},'
                f' lines: [{{skuId: "{to_global_id("Sku", sku.id)}", quantity: 1,'
                " unitPriceFen: 1990}]}) { order { externalId status } errors { code message } } }",
                expect='"errors"',
            )
            assert created["data"]["createOrder"]["errors"] == []
            mutation_post = next(p for p in graphql_posts if "createOrder" in p["body"])
            assert mutation_post["headers"][CSRF_HEADER] == cookies[CSRF_COOKIE]

            # 4. A subscription in a new tab, over the cookie-authenticated websocket.
            await graphiql.new_tab()
            await graphiql.type_query("subscription { orderCreated { externalId status } }")
            await page.locator(".graphiql-execute-button").click()
            await page.wait_for_timeout(500)  # the websocket subscribes before the order commits
            token = client.token_for(seller, Role.MANAGER)
            async with httpx.AsyncClient(base_url=server) as api:
                response = await api.post(
                    "/graphql",
                    json={
                        "query": CREATE,
                        "variables": {"input": order_input(seller, externalId="LIVE-GRAPHIQL-1")},
                    },
                    headers={"authorization": f"Bearer {token}"},
                )
                assert response.json()["data"]["createOrder"]["errors"] == []
            await page.wait_for_function(
                """() => document.querySelector('.graphiql-response .CodeMirror')
                    .CodeMirror.getValue().includes('LIVE-GRAPHIQL-1')""",
                timeout=TIMEOUT_MS,
            )
            pushed = json.loads(await graphiql.response_text())
            assert pushed["data"]["orderCreated"] == {
                "externalId": "LIVE-GRAPHIQL-1",
                "status": "NEW",
            }

            screenshot = artifact_path("graphiql-offline.png")
            await page.screenshot(path=str(screenshot))
            print(f"GraphiQL screenshot: {screenshot}")
        finally:
            await browser.close()

    assert blocked == [], f"the page reached beyond this machine: {blocked}"
    assert errors == [], errors


async def test_strawberrys_own_page_is_blank_offline(chromium: str, server: str) -> None:
    """The failure this page fixes, reproduced: strawberry's page needs a CDN and stays blank."""
    blocked: list[str] = []
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            context = await browser.new_context()
            await context.route("**/*", lambda route: loopback_only(route, blocked))
            page = await context.new_page()
            await page.goto(f"{server}/healthz")  # any page of the server, for its origin
            await page.set_content(get_graphql_ide_html("graphiql"))
            await page.wait_for_timeout(1000)
            assert await page.locator(".graphiql-query-editor").count() == 0
            assert await page.locator("#graphiql").inner_text() == "Loading..."
        finally:
            await browser.close()
    assert any("unpkg.com" in url for url in blocked), blocked
