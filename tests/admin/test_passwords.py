"""Django's password validators hold on every admin form that sets a password (SPEC §10 "Authentication")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loancenter.models import User
from tests.conftest import PASSWORD

SPACES = " " * 8


@pytest.fixture
def gen_client(client, staff):
    client.force_login(staff.gen)
    return client


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/loancenter/user/add/")
def test_the_admin_add_form_refuses_a_password_of_spaces(gen_client):
    response = gen_client.post(reverse("admin:loancenter_user_add"), {
        "username": "newclerk", "usable_password": "true", "password1": SPACES, "password2": SPACES,
        "first_name": "新人", "id_number": "", "approval_limit": "", "posts": ["archivist"],
    })
    assert response.status_code == 200
    errors = " ".join(e for field in response.context["adminform"].form.errors.values() for e in field)
    assert "only of spaces" in errors
    assert not User.objects.filter(username="newclerk").exists()


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/loancenter/user/{id}/password/")
def test_the_admin_password_form_refuses_a_password_of_spaces(gen_client, staff):
    response = gen_client.post(reverse("admin:auth_user_password_change", args=[staff.rev.pk]),
                               {"usable_password": "true", "password1": SPACES, "password2": SPACES})
    assert response.status_code == 200
    assert "only of spaces" in " ".join(response.context["form"].errors["password2"])
    rev = User.objects.get(pk=staff.rev.pk)
    assert rev.check_password(PASSWORD) and not rev.check_password(SPACES)
