"""The access policy covers every route, and each role is allowed or refused as it says."""

from __future__ import annotations

import pytest
from django.test import Client

from kapcare.accounts.middleware import POLICY_HEADER
from kapcare.accounts.policy import (
    API_OPERATIONS,
    HTML_ROUTES,
    PUBLIC,
    html_rule,
    role_may_view,
)
from kapcare.accounts.roles import Role
from kapcare.accounts.tests.routes import (
    api_operations,
    api_url_names,
    bound_operations,
    html_routes,
)
from kapcare.api.security import RoleBearer


def test_every_html_route_has_a_rule() -> None:
    missing = [r.view_name for r in html_routes() if html_rule(r.view_name) is None]
    assert missing == [], f"routes without an access rule in policy.HTML_ROUTES: {missing}"


def test_the_walk_finds_the_routes_we_know() -> None:
    # Guards the walker itself: if it found nothing, the test above would pass vacuously.
    names = {r.view_name for r in html_routes()}
    assert {"web:login", "web:today", "web:patient_list", "admin:index"} <= names
    assert len(api_url_names()) >= len({op.path for op in api_operations()})


def test_every_api_url_is_an_operation_or_has_a_page_rule() -> None:
    operation_ids = {op.operation_id for op in api_operations()}
    for view_name in api_url_names():
        name = view_name.split(":", 1)[1]
        assert name in operation_ids or view_name in HTML_ROUTES, view_name


def test_every_api_operation_has_a_rule_and_enforces_it() -> None:
    operations = api_operations()
    assert {"whoami", "list_patients"} <= {op.operation_id for op in operations}
    unknown = [op.operation_id for op in operations if op.operation_id not in API_OPERATIONS]
    assert unknown == [], f"API operations without a rule in policy.API_OPERATIONS: {unknown}"
    for operation in bound_operations():
        callbacks = operation.auth_callbacks
        assert len(callbacks) == 1 and isinstance(callbacks[0], RoleBearer), (
            f"{operation.operation_id} is not declared with kapcare.api.routing.endpoint"
        )
        assert callbacks[0].operation_id == operation.operation_id


def test_policy_names_no_route_that_does_not_exist() -> None:
    known = {r.view_name for r in html_routes()} | set(api_url_names())
    stale = [name for name in HTML_ROUTES if not name.endswith(":*") and name not in known]
    assert stale == []
    operation_ids = {op.operation_id for op in api_operations()}
    assert sorted(set(API_OPERATIONS) - operation_ids) == []


def _refused_by_policy(response):
    return response.status_code == 403 and response.get(POLICY_HEADER) == "denied"


def _is_login_redirect(response):
    return response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_html_role_matrix(role, users, client_for):
    client = client_for(users[role])
    # The clinic admin reaches Django's admin only with is_staff, as the demo and CLI set it.
    if role == Role.CLINIC_ADMIN:
        users[role].is_staff = users[role].is_superuser = True
        users[role].save()
    for route in html_routes():
        rule = html_rule(route.view_name)
        response = client.get(route.url())
        if rule is PUBLIC:
            assert response.status_code != 403, route.view_name
            continue
        if role_may_view(route.view_name, role):
            assert not _refused_by_policy(response) and not _is_login_redirect(response), (
                f"{role} should be allowed {route.view_name}: got {response.status_code}"
            )
        else:
            assert response.status_code == 403 and _refused_by_policy(response), (
                f"{role} should be refused {route.view_name}: got {response.status_code}"
            )


@pytest.mark.django_db
def test_html_routes_send_anonymous_users_to_sign_in() -> None:
    client = Client()
    for route in html_routes():
        response = client.get(route.url())
        if html_rule(route.view_name) is PUBLIC:
            assert not _refused_by_policy(response), route.view_name
            assert not _is_login_redirect(response), route.view_name
        else:
            assert _is_login_redirect(response), f"{route.view_name}: {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_api_role_matrix(role, users, token_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(users[role])}")
    for operation in api_operations():
        response = client.generic(operation.method, operation.url())
        if role in API_OPERATIONS[operation.operation_id]:
            assert response.status_code not in (401, 403), (
                f"{role} should be allowed {operation.operation_id}: {response.status_code}"
            )
        else:
            assert response.status_code == 403, (
                f"{role} should be refused {operation.operation_id}: {response.status_code}"
            )
            assert response.json()["detail"]


@pytest.mark.django_db
def test_api_refuses_anonymous_and_bad_tokens_with_401() -> None:
    for headers in ({}, {"Authorization": "Bearer kc_not-a-real-token"}):
        client = Client(headers=headers)
        for operation in api_operations():
            response = client.generic(operation.method, operation.url())
            assert response.status_code == 401, operation.operation_id
            assert response["WWW-Authenticate"] == "Bearer"
