"""`--download` through a real HTTP client against a loopback `http.server` serving fixture files."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from data_scripts import DownloadError, build
from tests._data_fixtures import imdb_archive, read_split, write_goemotions, write_movielens_100k, zip_folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format, *args):  # noqa: A002 (the stdlib's signature)
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def file_server(tmp_path):
    """(root folder, base URL, requested paths) of an HTTP server on 127.0.0.1 serving the folder."""
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", server.requests
    server.shutdown()
    server.server_close()


def test_goemotions_download_fetches_the_official_files_once(file_server, tmp_path, monkeypatch):
    root, url, requests = file_server
    write_goemotions(root / "goemotions" / "data")
    monkeypatch.setenv("DATA_SCRIPTS_GOEMOTIONS_BASE_URL", f"{url}/goemotions/data")
    source = tmp_path / "raw"
    result = build("goemotions", source=source, out=tmp_path / "out", download=True)
    assert sorted(requests) == sorted(
        f"/goemotions/data/{name}"
        for name in ("train.tsv", "dev.tsv", "test.tsv", "emotions.txt", "ekman_mapping.json")
    )
    assert result.downloaded[0].startswith(url)
    assert (source / "train.tsv").read_bytes() == (root / "goemotions" / "data" / "train.tsv").read_bytes()
    assert result.rows["raw"] == {"train": 11, "validation": 3, "test": 3}
    assert not list(source.glob(".*part"))  # no temporary download files left

    requests.clear()
    build("goemotions", source=source, out=tmp_path / "out", download=True)
    assert requests == []  # already there: nothing fetched again


def test_imdb_download_unpacks_the_official_archive(file_server, tmp_path):
    root, url, requests = file_server
    (root / "aclImdb_v1.tar.gz").write_bytes(imdb_archive(tmp_path / "archive"))
    source = tmp_path / "raw"
    result = build("imdb", source=source, out=tmp_path / "out", download=True, base_url=url)
    assert requests == ["/aclImdb_v1.tar.gz"]
    assert (source / "aclImdb" / "train" / "pos" / "99_9.txt").is_file()
    assert not (source / "aclImdb_v1.tar.gz").exists()  # the archive is removed once unpacked
    assert result.rows == {"plain_text": {"train": 18, "validation": 2, "test": 20}}


def test_movielens_download_unpacks_the_grouplens_zip(file_server, tmp_path):
    root, url, _ = file_server
    folder = write_movielens_100k(tmp_path / "ml-100k")
    (root / "ml-100k.zip").write_bytes(zip_folder(folder, "ml-100k"))
    out = tmp_path / "out"
    result = build("movielens_100k", source=tmp_path / "raw", out=out, download=True, base_url=url)
    assert (tmp_path / "raw" / "ml-100k" / "u.data").is_file()
    assert result.rows["sequences"]["test"] == 3
    assert read_split(out, "items", "train")[0]["title"] == "Toy Story (1995)"


def test_a_missing_remote_file_is_a_clear_error_and_leaves_nothing_behind(file_server, tmp_path):
    root, url, _ = file_server
    write_goemotions(root / "data")
    (root / "data" / "ekman_mapping.json").unlink()
    source = tmp_path / "raw"
    expected = r"ekman_mapping\.json failed with HTTP 404.*DATA_SCRIPTS_GOEMOTIONS_BASE_URL"
    with pytest.raises(DownloadError, match=expected):
        build("goemotions", source=source, out=tmp_path / "out", download=True, base_url=f"{url}/data")
    assert not (tmp_path / "out").exists()
    assert not list(source.glob(".*")) and not (source / "ekman_mapping.json").exists()


def test_an_unreachable_host_says_to_copy_the_files_by_hand(tmp_path):
    closed_port = "http://127.0.0.1:9"  # the discard port: nothing listens there
    with pytest.raises(DownloadError, match=r"cannot download http://127\.0\.0\.1:9/train\.csv .*by hand"):
        build("ag_news", source=tmp_path / "raw", out=tmp_path / "out", download=True, base_url=closed_port)


def test_builders_without_a_public_download_refuse_it(tmp_path):
    with pytest.raises(DownloadError, match="movielens_1m_sasrec: no public download.*gSASRec"):
        build("movielens_1m_sasrec", source=tmp_path / "raw", out=tmp_path / "out", download=True)
    assert not Path(tmp_path / "raw").exists()
