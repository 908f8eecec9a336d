"""Attacks on the gemeente-app that once got through, each against the real server (or
the real kernel table, the real home) and refused now.

- another user's connection vouched for by an unrelated socket of the app's user that
  merely shares the port numbers (``/proc/net/tcp`` matched on ports alone);
- a page on another port of 127.0.0.1, which is same-site with the app, using the
  ``SameSite=Strict`` cookie for its GETs (keeping the key alive, logging views);
- a body of up to 1 GiB spooled by the server before the guard saw the request;
- a termination notice imported in the app destroying every subkey in the import's own
  shredding pass while the session kept the key;
- ``HOME/app`` as a symbolic link: the launch file written through it;
- an upload named ``.``: a server error.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_world import AppClient, AppWorld, make_app_world, running_app, signed_in
from cli_helpers import TERMINATION_GROUND, run_cli
from flows import EXPORT_PASS
from securexchange.app import peer
from securexchange.app.web import MAX_REQUEST

pytestmark = pytest.mark.slow

LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> AppWorld:
    return make_app_world(tmp_path_factory.mktemp("app-attacks"))


@pytest.fixture()
def client(world: AppWorld) -> Iterator[AppClient]:
    with signed_in(world) as ready:
        yield ready


@pytest.mark.skipif(not LINUX, reason="the peer check reads /proc/net/tcp (Linux)")
def test_the_peer_check_matches_the_connections_addresses_not_only_its_ports() -> None:
    # A socket of ours from 127.0.0.3:X to a server on 127.0.0.2:P is no connection
    # from 127.0.0.1:X to 127.0.0.1:P: another user binding 127.0.0.1:X must not pass.
    server = socket.socket()
    server.bind(("127.0.0.2", 0))
    server.listen(1)
    port = server.getsockname()[1]
    unrelated = socket.socket()
    unrelated.bind(("127.0.0.3", 0))
    unrelated.connect(("127.0.0.2", port))
    accepted, _ = server.accept()
    try:
        assert peer.owner_of(unrelated.getsockname()[1], port) is None
    finally:
        for s in (accepted, unrelated, server):
            s.close()
    # The real thing, over IPv4 and over an IPv6 socket (IPv4-mapped), is ours.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(2)
    port = listener.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port))]
    if socket.has_ipv6:
        six = socket.socket(socket.AF_INET6)
        six.connect(("::ffff:127.0.0.1", port))
        clients.append(six)
    try:
        for c in clients:
            theirs, _ = listener.accept()
            assert peer.owner_of(c.getsockname()[1], port) == os.geteuid()
            assert peer.owner_of(c.getsockname()[1], port + 1) is None
            theirs.close()
    finally:
        for c in clients:
            c.close()
        listener.close()


def test_a_page_on_another_local_port_cannot_use_the_session(client: AppClient) -> None:
    # 127.0.0.1:OTHER is the same site: the browser sends the SameSite=Strict cookie
    # with that page's images and fetches. They are refused, so they neither keep the
    # key from its idle limit nor make the app decrypt and log.
    for site in ("same-site", "cross-site"):
        for path in ("/", "/inburgeraars", "/terugmelding", "/static/app.js"):
            answer = client.get(path, headers={"Sec-Fetch-Site": site})
            assert answer.status == 403, (site, path)
            assert "Sec-Fetch-Site" in answer.text
    for site in ("same-origin", "none"):
        assert client.get("/", headers={"Sec-Fetch-Site": site}).status == 200
    assert client.get("/").status == 200  # a client that sends no Sec-Fetch-* header
    # The launch page's answer leads on by itself: /welkom stays open.
    assert client.get("/welkom", headers={"Sec-Fetch-Site": "cross-site"}).status == 200


def test_a_body_larger_than_the_app_accepts_is_refused_before_it_is_read(
    client: AppClient,
) -> None:
    with socket.create_connection(("127.0.0.1", client.port), timeout=20) as s:
        s.sendall(
            (
                f"POST /launch HTTP/1.1\r\nHost: 127.0.0.1:{client.port}\r\n"
                "Content-Type: application/octet-stream\r\n"
                f"Content-Length: {MAX_REQUEST + 1}\r\n\r\n"
            ).encode()
        )
        # Not a byte of the body is sent: the answer comes at once.
        assert s.recv(200).startswith(b"HTTP/1.1 413 ")


def test_a_notice_that_destroys_every_subkey_drops_the_sessions_key(tmp_path: Path) -> None:
    own = make_app_world(tmp_path)
    passphrase = tmp_path / "export-pass"
    passphrase.write_bytes(EXPORT_PASS)
    passphrase.chmod(0o600)
    notices = tmp_path / "notices"
    terminated = run_cli(
        [
            "agency",
            "terminate",
            *TERMINATION_GROUND,
            "--nis",
            own.staff.nis,
            "--effective",
            datetime.date.today().isoformat(),
            "--out",
            str(notices),
            "--passphrase-file",
            str(passphrase),
        ],
        home=own.agency,
    )
    assert terminated.code == 0, terminated.stderr
    (notice,) = notices.iterdir()
    subkey_files = own.staff.home / "keys" / "subkeys"
    with running_app(own.staff.home) as app:
        client = app.client()
        client.launch()
        client.unlock()
        client.upload("/importeren", [(own.package.name, own.package.read_bytes())])
        assert list(subkey_files.glob("sk-*.key"))
        assert 'id="vergrendel"' in client.get("/").text
        client.upload("/importeren", [(notice.name, notice.read_bytes())])
        assert not list(subkey_files.glob("sk-*.key"))  # the import's own pass
        assert 'id="vergrendel"' not in client.get("/").text  # and the key went with them


def test_a_symlinked_app_folder_stops_the_start_before_a_launch_file(tmp_path: Path) -> None:
    own = make_app_world(tmp_path)
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir(mode=0o755)
    elsewhere.chmod(0o755)
    folder = own.staff.home / "app"
    if folder.exists():
        shutil.rmtree(folder)
    folder.symlink_to(elsewhere)
    with pytest.raises(AssertionError, match="SX-UNSAFE-HOME"), running_app(own.staff.home):
        pass
    assert list(elsewhere.iterdir()) == []
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755  # not chmod-ed through it


def test_an_upload_without_a_file_name_is_refused_not_a_server_error(client: AppClient) -> None:
    client.unlock()
    for name in (".", "/", "a/.."):
        answer = client.upload("/importeren", [(name, b"not a package")])
        assert answer.status == 303, name
        page = client.get("/importeren").text
        assert re.search(r'class="flash error"', page), name
