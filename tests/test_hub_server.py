"""The loopback Hub speaks the Hub's HTTP API well enough for the real huggingface_hub client: repos, commits,
listings, downloads, auth. (Test infrastructure; the publishing tests rely on it.)"""

import hashlib
import urllib.error
import urllib.request

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hub_server import HubServer, git_blob_oid


@pytest.fixture
def hub(monkeypatch):
    # conftest switches the Hub client offline for everything else; these tests talk to 127.0.0.1 only.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with HubServer() as server:
        yield server


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.url, token=hub.token)


def add(path, content: bytes):
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)


def http(method: str, url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """A plain stdlib request: (status, headers, body), errors included."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_new_repo_has_an_initial_commit_and_reports_its_visibility(api):
    url = api.create_repo("org/model", private=True)
    info = api.model_info("org/model")
    assert url == f"{api.endpoint}/org/model"
    assert info.private is True
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]
    assert len(api.list_repo_commits("org/model")) == 1


def test_commit_then_download_returns_the_bytes_with_the_headers_the_client_checks(hub, api, tmp_path):
    content = bytes(range(256)) * 4
    api.create_repo("org/model")
    commit = api.create_commit("org/model", [add("weights/a.bin", content)], commit_message="add weights")
    path = hf_hub_download("org/model", "weights/a.bin", endpoint=hub.url, token=hub.token, cache_dir=tmp_path)
    status, headers, body = http("HEAD", f"{hub.url}/org/model/resolve/main/weights/a.bin")

    assert open(path, "rb").read() == content
    assert (status, body) == (200, b"")
    assert headers["ETag"] == f'"{git_blob_oid(content)}"'
    assert headers["X-Repo-Commit"] == commit.oid
    assert headers["Content-Length"] == "1024"
    assert "X-Xet-Hash" not in headers  # never advertise Xet: clients download over plain HTTP


def test_range_requests_return_partial_content(hub, api):
    api.create_repo("org/model")
    api.create_commit("org/model", [add("data.txt", b"0123456789")], commit_message="data")
    url = f"{hub.url}/org/model/resolve/main/data.txt"
    status, headers, body = http("GET", url, {"Range": "bytes=2-5"})
    assert (status, body, headers["Content-Range"]) == (206, b"2345", "bytes 2-5/10")
    assert http("GET", url, {"Range": "bytes=-3"})[2] == b"789"


def test_unchanged_files_are_skipped_so_a_repeated_commit_is_not_made(hub, api):
    api.create_repo("org/model")
    first = api.create_commit("org/model", [add("a.txt", b"same")], commit_message="first")
    again = api.create_commit("org/model", [add("a.txt", b"same")], commit_message="again")
    assert again.oid == first.oid
    assert [c.title for c in hub.commits("org/model")] == ["first", "initial commit"]


def test_a_wrong_token_is_rejected_with_401_and_never_echoed(hub):
    wrong = "hf_thisIsNotAValidToken123"
    with pytest.raises(HfHubHTTPError) as raised:
        HfApi(endpoint=hub.url, token=wrong).create_repo("org/model")
    assert raised.value.response.status_code == 401
    assert "Invalid credentials" in str(raised.value)
    assert wrong not in str(raised.value) and wrong not in raised.value.response.text
    assert ("model", "org/model") not in hub.repos


def test_a_read_only_token_cannot_write(hub, api):
    api.create_repo("org/model")
    reader = hub.add_user("reader", orgs=["org"], role="read")
    with pytest.raises(HfHubHTTPError) as raised:
        HfApi(endpoint=hub.url, token=reader).create_commit(
            "org/model", [add("a.txt", b"x")], commit_message="should fail"
        )
    assert raised.value.response.status_code == 403


def test_private_repos_are_invisible_to_anonymous_users_and_outsiders(hub, api):
    api.create_repo("org/secret", private=True)
    outsider = hub.add_user("outsider")
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).model_info("org/secret")
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=outsider).model_info("org/secret")


def test_a_refused_file_fails_the_whole_commit_and_changes_nothing(hub, api):
    api.create_repo("org/model")
    api.create_commit("org/model", [add("a.txt", b"v1")], commit_message="v1")
    before = hub.files("org/model")
    hub.refuse_paths.add("*.bin")
    with pytest.raises(HfHubHTTPError) as raised:
        api.create_commit(
            "org/model",
            [add("a.txt", b"v2"), add("b.bin", b"binary"), CommitOperationDelete(".gitattributes")],
            commit_message="v2",
        )
    assert raised.value.response.status_code == 422
    assert hub.files("org/model") == before
    assert len(hub.commits("org/model")) == 2


def test_a_commit_on_a_stale_parent_is_rejected(hub, api):
    api.create_repo("org/model")
    parent = api.model_info("org/model").sha
    api.create_commit("org/model", [add("a.txt", b"someone else")], commit_message="concurrent")
    with pytest.raises(HfHubHTTPError) as raised:
        api.create_commit("org/model", [add("b.txt", b"mine")], commit_message="mine", parent_commit=parent)
    assert raised.value.response.status_code == 412
    assert "b.txt" not in hub.files("org/model")


def test_branches_tags_and_commit_ids_resolve_as_revisions(hub, api):
    api.create_repo("org/model")
    api.create_branch("org/model", branch="dev")
    dev = api.create_commit("org/model", [add("dev.txt", b"dev")], commit_message="dev only", revision="dev")
    api.create_tag("org/model", tag="v1", revision="dev")
    refs = api.list_repo_refs("org/model")

    assert {b.name for b in refs.branches} == {"main", "dev"}
    assert [t.target_commit for t in refs.tags] == [dev.oid]
    assert "dev.txt" in api.list_repo_files("org/model", revision="v1")
    assert "dev.txt" in api.list_repo_files("org/model", revision=dev.oid)
    assert "dev.txt" not in api.list_repo_files("org/model")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org/model", revision="nope")


def test_tree_and_paths_info_list_files_and_folders(api):
    api.create_repo("org/data", repo_type="dataset")
    api.create_commit(
        "org/data",
        [add("all/train.parquet", b"t"), add("all/test.parquet", b"tt"), add("README.md", b"# data\n")],
        commit_message="data",
        repo_type="dataset",
    )
    top = {e.path: type(e).__name__ for e in api.list_repo_tree("org/data", repo_type="dataset")}
    below = [e.path for e in api.list_repo_tree("org/data", "all", repo_type="dataset")]
    infos = api.get_paths_info("org/data", ["all", "all/test.parquet", "missing"], repo_type="dataset", expand=True)

    assert top == {".gitattributes": "RepoFile", "README.md": "RepoFile", "all": "RepoFolder"}
    assert below == ["all/test.parquet", "all/train.parquet"]
    assert [(i.path, type(i).__name__) for i in infos] == [("all", "RepoFolder"), ("all/test.parquet", "RepoFile")]
    assert infos[1].size == 2 and infos[1].last_commit.title == "data"


def test_missing_files_and_repos_map_to_the_clients_error_types(hub, api, tmp_path):
    api.create_repo("org/model")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("org/model", "nope.json", endpoint=hub.url, token=hub.token, cache_dir=tmp_path)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("org/none")


def test_spaces_need_an_sdk_and_report_it(api):
    api.create_repo("org/demo", repo_type="space", space_sdk="gradio")
    assert api.space_info("org/demo").sdk == "gradio"


def test_invalid_card_yaml_is_refused_before_anything_is_uploaded(hub, api):
    api.create_repo("org/model")
    with pytest.raises(ValueError, match="Invalid metadata"):
        api.create_commit("org/model", [add("README.md", b"---\nkey: [unclosed\n---\n")], commit_message="bad card")
    assert len(hub.commits("org/model")) == 1


def test_unimplemented_routes_answer_404_and_are_recorded(hub):
    assert http("GET", f"{hub.url}/api/models/org/model/discussions")[0] == 404
    assert hub.unhandled == [("GET", "/api/models/org/model/discussions")]


def test_the_request_log_holds_paths_but_no_tokens(hub, api):
    api.create_repo("org/model")
    api.create_commit("org/model", [add("a.txt", b"x")], commit_message="x")
    assert hub.requests and all(hub.token not in " ".join(map(str, entry)) for entry in hub.requests)
    assert hashlib.sha1(b"blob 1\0x").hexdigest() == git_blob_oid(b"x")
