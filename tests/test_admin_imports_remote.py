"""The import page reading a live server: superusers only, hosts on the allow-list only,
and a private, loopback, link-local or metadata address only when it is listed itself;
the connection goes to the address checked. Against this project's own server, live on
loopback."""

import socket
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User

from catalog.importing.records import ImportFailed
from catalog.importing.run import import_paths
from catalog.importing.sources.host_policy import AllowedHosts, checked_origin
from catalog.importing.sources.remote import fetch_bundle
from catalog.models import ChangeSet, Deployment
from tests.conftest import prefect_file

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/admin/catalog/deployment/import/"
REFERENCE = ("20_get_deployment_full.json", "21_get_deployment_minimal.json")


@pytest.fixture(autouse=True)
def pending_folder(settings, tmp_path):
    settings.CATALOG_ADMIN_IMPORT_DIR = str(tmp_path / "pending")


@pytest.fixture
def ops(client):
    import_paths([prefect_file(name) for name in REFERENCE], flow_name="anchor-etl")
    client.force_login(User.objects.create_superuser("ops", password="x"))


def port_of(server) -> int:
    return urlsplit(server.url).port


def read_server(client, url: str):
    return client.post(PAGE, {"action": "remote", "url": url})


def url_errors(response) -> str:
    return str(response.context["remote_form"].errors.get("url"))


def test_a_url_of_another_scheme_is_a_form_error(client, ops):
    response = read_server(client, "ftp://127.0.0.1/api")
    assert "Give an http:// or https:// URL." in url_errors(response)


def test_no_host_is_allowed_by_default(client, ops, live_server):
    response = read_server(client, f"http://127.0.0.1:{port_of(live_server)}/api")
    assert response.status_code == 400
    assert "127.0.0.1: not an address the import may read" in url_errors(response)


def test_a_listed_name_that_resolves_to_loopback_is_refused(client, ops, live_server, settings):
    settings.CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS = ["localhost"]
    response = read_server(client, f"http://localhost:{port_of(live_server)}/api")
    assert response.status_code == 400
    assert "a non-public address (loopback)" in url_errors(response)


def test_a_listed_loopback_address_is_read_and_imported(client, ops, live_server, settings):
    settings.CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS = ["127.0.0.1"]
    url = f"http://127.0.0.1:{port_of(live_server)}/api"
    response = read_server(client, url)
    assert response.status_code == 200
    plan = response.context["plan"]
    assert sorted(row.name for row in plan.of("unchanged")) == ["anchor-full", "anchor-minimal"]
    assert response.context["format_name"] == "a Prefect server"
    Deployment.objects.filter(name="anchor-minimal").delete()
    refused = client.post(PAGE, {"action": "confirm", "token": response.context["pending"].token})
    assert refused.status_code == 409
    assert [row.name for row in refused.context["plan"].of("create")] == ["anchor-minimal"]
    token = refused.context["pending"].token
    assert client.post(PAGE, {"action": "confirm", "token": token}).status_code == 302
    assert Deployment.objects.filter(name="anchor-minimal").exists()
    assert ChangeSet.objects.latest("at").actor_name == "ops"


def test_the_connection_goes_to_the_address_checked(live_server, db, settings):
    settings.ALLOWED_HOSTS = ["no-such-host.invalid"]
    import_paths([prefect_file(REFERENCE[1])], flow_name="anchor-etl")
    url = f"http://no-such-host.invalid:{port_of(live_server)}/api"
    bundle = fetch_bundle(url, address="127.0.0.1")
    assert [record.data["name"] for record in bundle.deployments] == ["anchor-minimal"]


# The allow-list, with a resolver of the test's --------------------------------------------


def resolver(*addresses: str):
    def resolve(host, port, type=None):
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, type, 6, "", (address, port)) for address in addresses]

    return resolve


def check(url: str, allowed: list[str], *addresses: str):
    return checked_origin(
        url, AllowedHosts.of(allowed), resolve=resolver(*addresses or ("1.1.1.1",))
    )


def test_a_listed_name_with_a_public_address_is_allowed():
    origin, address = check(
        "https://prefect.example.com/api", ["prefect.example.com"], "93.184.216.34"
    )
    assert (origin.host, origin.port, address) == ("prefect.example.com", 443, "93.184.216.34")


def test_an_unlisted_name_is_refused():
    with pytest.raises(ImportFailed, match="not a host the import may read"):
        check("https://other.example.com/api", ["prefect.example.com"])


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.5", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fe80::1", "link-local"),
        ("::1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_a_listed_name_with_a_non_public_address_is_refused(address, kind):
    with pytest.raises(ImportFailed, match=rf"a non-public address \({kind}\)"):
        check("http://prefect.internal/api", ["prefect.internal"], address)


def test_any_address_of_several_refuses_the_host():
    with pytest.raises(ImportFailed, match="private"):
        check("http://prefect.internal/api", ["prefect.internal"], "93.184.216.34", "10.0.0.1")


def test_a_private_address_is_allowed_when_its_network_is_listed():
    _, address = check(
        "http://prefect.internal/api", ["prefect.internal", "10.0.0.0/8"], "10.1.2.3"
    )
    assert address == "10.1.2.3"


def test_a_metadata_address_by_itself_is_refused_unless_listed():
    with pytest.raises(ImportFailed, match="not an address the import may read"):
        check("http://169.254.169.254/latest", ["prefect.internal"])
    _, address = check("http://169.254.169.254/latest", ["169.254.169.254"])
    assert address == "169.254.169.254"


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(ImportFailed, match="http:// or https://"):
        check("file:///etc/passwd", ["localhost"])
