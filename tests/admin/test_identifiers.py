"""Finding 4 in the admin: a staff ID number typed with full-width digits is stored in ASCII (rule 25)."""

from __future__ import annotations

from datetime import date

import pytest

from loancenter.models import User
from tests.admin.test_admin import add_user
from tests.factories import id_number_for

ID = id_number_for(date(1983, 2, 1))
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.mark.sidedoor(rule="25", path="admin: add staff (id_number)")
def test_the_admin_stores_a_full_width_staff_id_number_in_ascii(client, staff):
    client.force_login(staff.gen)
    response = add_user(client, username="newappr", posts=["approver"], approval_limit="100000",
                        id_number=" " + ID[:17].translate(FULL_WIDTH) + ID[17])
    assert response.status_code == 302
    assert User.objects.get(username="newappr").id_number == ID
