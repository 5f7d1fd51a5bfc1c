"""The order a page of deployments is read in (`catalog.rules.page_orders`)."""

from catalog.rules.page_orders import total_order


def test_an_order_is_made_total_by_the_id_in_the_direction_its_index_holds():
    assert total_order(["name"]) == ["name", "id"]
    assert total_order(["-name"]) == ["-name", "-id"]
    assert total_order(["-created"]) == ["-created", "id"]
    assert total_order(["updated"]) == ["updated", "-id"]
    assert total_order(["-created", "name"]) == ["-created", "name", "id"]
    assert total_order(["name", "-pk"]) == ["name", "-pk"]
    assert total_order(("-updated", "id")) == ["-updated", "id"]
    assert total_order([]) == ["id"]
