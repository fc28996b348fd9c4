"""The pages carry a Content-Security-Policy, and /healthz does not connect to the broker on
every request."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings as SettingsWrapper

from config import health
from config.testing import celery_broker
from harness.waiting import wait_for

CLOSED_PORT_BROKER = "amqp://guest:guest@127.0.0.1:1//"


def test_the_page_has_a_csp_whose_nonce_only_its_own_script_and_style_carry(
    logged_in: Client,
) -> None:
    response = logged_in.get(reverse("files:list"))
    policy = response["Content-Security-Policy"]
    page = response.content.decode()

    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy)
    assert nonce, policy
    assert "'unsafe-inline'" not in policy.split("style-src-attr")[0]
    assert "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script([^>]*)>", page)
    styles = re.findall(r"<style([^>]*)>", page)
    assert scripts
    assert styles
    assert all(f'nonce="{nonce.group(1)}"' in attributes for attributes in scripts + styles)
    assert not re.search(r"\son[a-z]+=", page), "an inline event handler would be blocked"
    other = logged_in.get(reverse("files:list"))["Content-Security-Policy"]
    assert other != policy  # a fresh nonce per response


@pytest.fixture
def fresh_health() -> None:
    health._broker_last = None


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_health")
def test_healthz_answers_from_its_last_broker_check_for_a_few_seconds(
    client: Client, settings: SettingsWrapper
) -> None:
    settings.HEALTH_BROKER_CACHE_S = 2
    assert client.get("/healthz").json()["broker"] == "ok"

    # The broker becomes unreachable: within the cache window, no new connection is tried.
    with celery_broker(CLOSED_PORT_BROKER):
        assert [client.get("/healthz").status_code for _ in range(20)] == [200] * 20
        wait_for(
            lambda: client.get("/healthz").status_code == 503,
            timeout=10,
            what="the cached broker check to expire",
        )
