async def test_admin_fixture_signs_in(client, admin):
    response = await client.get("/api/v1/me")
    assert response.status_code == 200
    assert (await response.get_json())["username"] == "admin"
