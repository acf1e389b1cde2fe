"""Accounts through the hub's neutral doors: platform account info, OAuth connect and callback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from crosspost.core.account_flows import LoginStart, ServiceContext
from crosspost.core.accounts import Account
from crosspost.core.hookspecs import hookimpl
from crosspost.core.models import JobStatus, Post
from crosspost.core.platform import JobContext, Outcome, Platform, RegisterPlatform, Validation
from tests.serve.conftest import Cdn, Served


class LoginPlatform(Platform):
    """A platform with a browser login, to drive ``/connect`` without a real provider."""

    name = "loginy"
    needs_account = True
    supports_login = True

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        return Validation()

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        return Outcome(status=JobStatus.PUBLISHED, publish_id="loginy-1")

    async def start_login(self, name: str, values: Mapping[str, str], *, redirect_uri: str,
                          ctx: ServiceContext) -> LoginStart:
        return LoginStart(url=f"https://login.example/authorize?redirect_uri={redirect_uri}", state=f"state-{name}",
                          pending={"verifier": "v"})

    async def finish_login(self, name: str, start: LoginStart, callback: Mapping[str, str], *,
                           redirect_uri: str, ctx: ServiceContext) -> Account:
        assert callback["code"] == "the-code"
        return Account(platform="loginy", name=name, secrets={"access_token": "tok"},
                       profile={"username": f"{name}.on.loginy"})


class NoLoginPlatform(LoginPlatform):
    name = "nologin"
    supports_login = False


class Registers:
    @hookimpl
    def register_platforms(self, register: RegisterPlatform) -> None:
        register(LoginPlatform())
        register(NoLoginPlatform())


@pytest.fixture
def crosspost_plugins(cdn: Cdn, media_host: Any) -> list[object]:
    from tests.serve.conftest import SeedMedia

    return [SeedMedia(cdn), media_host, Registers()]


async def test_connect_start_and_callback_store_the_account(served: Served) -> None:
    start = await served.client.get("/v1/connect/loginy?name=bob", headers=served.headers("native"))
    body = await start.json()
    assert start.status == 200, body
    assert body["state"] == "state-bob"
    assert "/v1/connect/loginy/callback" in body["auth_url"]
    back = await served.client.get("/v1/connect/loginy/callback?state=state-bob&code=the-code")  # no key: a browser
    account = await back.json()
    assert back.status == 200, account
    assert account["id"] == "loginy:bob"
    listed = await (await served.client.get("/zernio/api/v1/accounts?platform=loginy",
                                            headers=served.headers("zernio"))).json()
    assert [a["_id"] for a in listed["accounts"]] == ["loginy:bob"]
    replay = await served.client.get("/v1/connect/loginy/callback?state=state-bob&code=the-code")
    assert replay.status == 400  # a used or forged state is refused


async def test_connect_for_a_platform_without_a_login_is_422(served: Served) -> None:
    resp = await served.client.get("/zernio/api/v1/connect/nologin", headers=served.headers("zernio"))
    assert resp.status == 422
    assert (await resp.json())["code"] == "UNSUPPORTED_FEATURE"
    unknown = await served.client.get("/zernio/api/v1/connect/myspace", headers=served.headers("zernio"))
    assert unknown.status == 404


async def test_platform_account_info_goes_through_the_hub(served: Served) -> None:
    resp = await served.client.get("/zernio/api/v1/accounts/tiktok:main/tiktok/creator-info",
                                   headers=served.headers("zernio"))
    body = await resp.json()
    assert resp.status == 200, body
    assert body["creator"]["username"] == "sunset.creator"
    wrong = await served.client.get("/zernio/api/v1/accounts/tiktok:main/loginy/creator-info",
                                    headers=served.headers("zernio"))
    assert wrong.status == 404
    native = await served.client.get("/v1/accounts/tiktok:main/info", headers=served.headers("native"))
    assert (await native.json())["target"] == "tiktok:main"


async def test_deleting_an_account_forgets_it(served: Served) -> None:
    resp = await served.client.delete("/socialsyncer/v1/accounts/tiktok/main", headers=served.headers("socialsyncer"))
    assert resp.status == 200, await resp.text()
    listed = await (await served.client.get("/v1/accounts", headers=served.headers("native"))).json()
    assert listed["data"] == []
