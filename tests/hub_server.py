"""A loopback Hugging Face Hub for tests: the part of the Hub's HTTP API that huggingface_hub, transformers,
datasets and peft call, served from memory on 127.0.0.1. Test infrastructure, not product code.

What it implements (the routes the real clients use, found by reading their source):
  - accounts: `GET /api/whoami-v2`; tokens are checked on every request, an unknown token gets 401 like the Hub
  - repos: `POST /api/repos/create` (model, dataset, space; a new repo gets an initial commit with
    `.gitattributes`), `DELETE /api/repos/delete`, `PUT /api/{type}s/{id}/settings`, `POST /api/validate-yaml`
  - revisions: `GET /api/{type}s/{id}[/revision/{rev}]` (sha, siblings, cardData), `GET .../refs`,
    `GET .../commits/{rev}`, `POST|DELETE .../branch/{name}`, `POST .../tag/{rev}`
  - listings: `GET .../tree/{rev}[/{path}]` (recursive, expand) and `POST .../paths-info/{rev}`
  - uploads: `POST .../preupload/{rev}` always answers "regular" (never LFS, never Xet) and returns the oid of a
    file that is already there so the client skips it; `POST .../commit/{rev}` takes the NDJSON payload (base64
    files, deleted files and folders, `parentCommit`) and applies it all or nothing
  - downloads: `GET|HEAD /[datasets/|spaces/]{id}/resolve/{rev}/{path}` with ETag (the git blob oid),
    X-Repo-Commit, Content-Length, Accept-Ranges and Range requests; errors carry X-Error-Code
    (RepoNotFound, RevisionNotFound, EntryNotFound) as the clients expect.
Anything else answers 404 and is recorded in `HubServer.unhandled`, so a test can tell a missing route from a bug.

Use it from a test:
    with HubServer() as hub:            # hub.url, hub.token (write token of user "tester", member of org "org")
        env = hub.client_env()          # HF_ENDPOINT, HF_TOKEN, offline switches off: for a subprocess
        hub.refuse_paths.add("*.bin")   # commits that add a matching file fail with 422, changing nothing
        hub.files("org/model")          # {path: bytes} at main, to inspect what was pushed
or on its own: `python tests/hub_server.py --port 8080` prints the endpoint and a token.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml

REPO_TYPES = ("model", "dataset", "space")
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
# What the Hub writes into a new repository's first commit.
INITIAL_GITATTRIBUTES = (
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
)
INVALID_TOKEN_MESSAGE = "Invalid credentials in Authorization header"


def git_blob_oid(content: bytes) -> str:
    """The git object id of a file, as the Hub reports it for regular (non-LFS) files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Commit:
    oid: str
    parent: str | None
    files: dict[str, str]  # path -> blob oid
    title: str
    message: str
    author: str
    date: str


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    sdk: str | None = None
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    def resolve(self, revision: str) -> Commit | None:
        """A branch, a tag or a full commit oid -> that commit."""
        oid = self.branches.get(revision) or self.tags.get(revision)
        if oid is None and re.fullmatch(r"[0-9a-f]{40}", revision):
            oid = revision if revision in self.commits else None
        return self.commits.get(oid) if oid else None


@dataclass
class User:
    name: str
    orgs: list[str]
    role: str  # "read" or "write"


class HubError(Exception):
    """An HTTP error answer: status, message, and the X-Error-Code the clients map to exception types."""

    def __init__(self, status: int, message: str, error_code: str | None = None, repo_commit: str | None = None):
        super().__init__(message)
        self.status, self.message, self.error_code, self.repo_commit = status, message, error_code, repo_commit


class HubServer:
    """A threaded Hub on 127.0.0.1 with an in-memory store. Start it with `with HubServer() as hub:`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, user: str = "tester", orgs: tuple[str, ...] = ("org",)):
        self.host, self.port = host, port
        self.users: dict[str, User] = {}
        self.token = self.add_user(user, orgs=list(orgs), role="write")
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}
        self.refuse_paths: set[str] = set()  # fnmatch patterns: commits adding a matching file fail with 422
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status), never headers: no tokens here
        self.unhandled: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- life cycle -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("The loopback Hub is not running: call start() or use it as a context manager.")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> "HubServer":
        server = self

        class Handler(_HubRequestHandler):
            hub = server

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def client_env(self, token: str | None = "default", base: dict | None = None) -> dict[str, str]:
        """Environment for a client subprocess: this endpoint, a token (the write token unless given; None for
        anonymous), offline switches off, no telemetry. Xet stays on: the server never advertises it, so the
        clients use plain HTTP."""
        env = dict(base or {})
        offline_and_tokens = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN")
        for key in offline_and_tokens + ("HUGGING_FACE_HUB_TOKEN",):
            env.pop(key, None)
        env.update(
            HF_ENDPOINT=self.url,
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            HF_HUB_DISABLE_UPDATE_CHECK="1",
            HF_HUB_ETAG_TIMEOUT="30",
        )
        token = self.token if token == "default" else token
        if token is not None:
            env["HF_TOKEN"] = token
        return env

    # ----- accounts and inspection ------------------------------------------------------------------------
    def add_user(self, name: str, orgs: list[str] | None = None, role: str = "write", token: str | None = None) -> str:
        token = token or f"hf_loopback_{secrets.token_hex(12)}"
        self.users[token] = User(name=name, orgs=list(orgs or []), role=role)
        return token

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def commits(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> list[Commit]:
        """The history of `revision`, newest first."""
        repo = self.repo(repo_id, repo_type)
        commit, history = repo.resolve(revision), []
        while commit is not None:
            history.append(commit)
            commit = repo.commits.get(commit.parent) if commit.parent else None
        return history

    def files(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> dict[str, bytes]:
        commit = self.repo(repo_id, repo_type).resolve(revision)
        if commit is None:
            raise KeyError(f"{repo_type} {repo_id} has no revision {revision!r}")
        return {path: self.blobs[oid] for path, oid in commit.files.items()}

    # ----- the store ----------------------------------------------------------------------------------------
    def _create_repo(self, repo_type: str, repo_id: str, private: bool, author: str, sdk: str | None) -> Repo:
        repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private, created_at=_now(), sdk=sdk)
        oid = self._put_blob(INITIAL_GITATTRIBUTES)
        commit = self._new_commit(repo, None, {".gitattributes": oid}, "initial commit", "", author)
        repo.branches["main"] = commit.oid
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def _put_blob(self, content: bytes) -> str:
        oid = git_blob_oid(content)
        self.blobs.setdefault(oid, content)
        return oid

    def _new_commit(self, repo: Repo, parent: str | None, files: dict, title: str, message: str, author: str) -> Commit:
        date = _now()
        digest = hashlib.sha1(
            json.dumps([parent, sorted(files.items()), title, message, author, date, secrets.token_hex(4)]).encode()
        ).hexdigest()
        commit = Commit(digest, parent, dict(files), title, message, author, date)
        repo.commits[commit.oid] = commit
        return commit


def _tree_entries(hub: HubServer, commit: Commit, prefix: str, recursive: bool) -> list[dict] | None:
    """Files and folders under `prefix` ("" = root) in `commit`; None when `prefix` is neither a folder nor a file."""
    prefix = prefix.strip("/")
    if prefix and prefix in commit.files:
        return None
    base = f"{prefix}/" if prefix else ""
    below = {path: oid for path, oid in commit.files.items() if path.startswith(base)}
    if prefix and not below:
        return None
    files, folders = [], {}
    for path, oid in below.items():
        rest = path[len(base) :].split("/")
        if recursive or len(rest) == 1:
            files.append(_file_entry(hub, path, oid))
        for depth in range(1, len(rest) if recursive else min(len(rest), 2)):
            folder = base + "/".join(rest[:depth])
            folders.setdefault(folder, []).append(oid)
    entries = [_folder_entry(path, oids) for path, oids in folders.items()] + files
    return sorted(entries, key=lambda entry: entry["path"])


def _file_entry(hub: HubServer, path: str, oid: str) -> dict:
    return {"type": "file", "oid": oid, "size": len(hub.blobs[oid]), "path": path}


def _folder_entry(path: str, oids: list[str]) -> dict:
    oid = hashlib.sha1("".join(sorted(oids)).encode()).hexdigest()
    return {"type": "directory", "oid": oid, "size": 0, "path": path}


def _last_commit(repo: Repo, commit: Commit, path: str) -> dict:
    """The newest commit in `commit`'s history that changed `path` (a file or a folder prefix)."""

    def state(c: Commit):
        return sorted((p, o) for p, o in c.files.items() if p == path or p.startswith(path + "/"))

    current = commit
    while current.parent and state(repo.commits[current.parent]) == state(current):
        current = repo.commits[current.parent]
    return {"id": current.oid, "title": current.title, "date": current.date}


def _card_metadata(content: bytes) -> dict | None:
    text = content.decode("utf-8", errors="replace")
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.DOTALL)
    if not match:
        return None
    data = yaml.safe_load(match.group(1))
    return data if isinstance(data, dict) else None


class _HubRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: HubServer  # set by HubServer.start
    server_version = "loopback-hub/1.0"

    # ----- plumbing ---------------------------------------------------------------------------------------
    def log_message(self, format, *args):  # the default writes every request to stderr
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.hub.requests.append((self.command, urlsplit(self.path).path, status))

    def _json(self, payload, status: int = 200, headers: dict | None = None):
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _error(self, error: HubError):
        headers = {"X-Error-Message": error.message}
        if error.error_code:
            headers["X-Error-Code"] = error.error_code
        if error.repo_commit:
            headers["X-Repo-Commit"] = error.repo_commit
        self._json({"error": error.message}, error.status, headers)

    def _dispatch(self, method: str):
        split = urlsplit(self.path)
        self.query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        self.body = self._read_body() if method in ("POST", "PUT", "DELETE") else b""
        segments = [unquote(s) for s in split.path.strip("/").split("/")] if split.path.strip("/") else []
        raw_segments = split.path.strip("/").split("/")
        try:
            self.user = self._authenticate()
            with self.hub._lock:
                handled = self._route(method, segments, raw_segments)
            if not handled:
                self.hub.unhandled.append((method, split.path))
                raise HubError(404, f"The loopback Hub does not implement {method} {split.path}")
        except HubError as error:
            self._error(error)
        except Exception as error:  # a bug in this server: say so instead of dropping the connection
            self._json({"error": f"loopback Hub internal error: {type(error).__name__}: {error}"}, 500)

    def _authenticate(self) -> User | None:
        header = self.headers.get("Authorization")
        if not header:
            return None
        token = header.split(" ", 1)[1].strip() if " " in header else header.strip()
        user = self.hub.users.get(token)
        if user is None:
            raise HubError(401, INVALID_TOKEN_MESSAGE)
        return user

    # ----- routing ----------------------------------------------------------------------------------------
    def _route(self, method: str, seg: list[str], raw: list[str]) -> bool:
        if seg[:1] == ["api"]:
            return self._route_api(method, seg[1:], raw[1:])
        # File resolve: [datasets/|spaces/]{namespace}/{name}/resolve/{revision}/{path...}
        repo_type = "model"
        if seg and seg[0] in ("datasets", "spaces"):
            repo_type, seg, raw = seg[0][:-1], seg[1:], raw[1:]
        if method in ("GET", "HEAD") and len(seg) >= 5 and seg[2] == "resolve":
            self._resolve(repo_type, f"{seg[0]}/{seg[1]}", seg[3], unquote("/".join(raw[4:])))
            return True
        return False

    def _route_api(self, method: str, seg: list[str], raw: list[str]) -> bool:
        if seg == ["whoami-v2"] and method == "GET":
            self._whoami()
        elif seg == ["repos", "create"] and method == "POST":
            self._create_repo_route()
        elif seg == ["repos", "delete"] and method == "DELETE":
            self._delete_repo_route()
        elif seg == ["validate-yaml"] and method == "POST":
            self._validate_yaml()
        elif len(seg) >= 3 and seg[0] in ("models", "datasets", "spaces"):
            repo_type, repo_id, rest, raw_rest = seg[0][:-1], f"{seg[1]}/{seg[2]}", seg[3:], raw[3:]
            return self._route_repo(method, repo_type, repo_id, rest, raw_rest)
        else:
            return False
        return True

    def _route_repo(self, method: str, repo_type: str, repo_id: str, rest: list[str], raw_rest: list[str]) -> bool:
        action = rest[0] if rest else None
        if method == "GET" and action is None:
            self._repo_info(repo_type, repo_id, "main")
        elif method == "GET" and action == "revision" and len(rest) == 2:
            self._repo_info(repo_type, repo_id, rest[1])
        elif method == "GET" and action == "refs":
            self._refs(repo_type, repo_id)
        elif method == "GET" and action == "commits" and len(rest) == 2:
            self._list_commits(repo_type, repo_id, rest[1])
        elif method == "GET" and action == "tree" and len(rest) >= 2:
            self._tree(repo_type, repo_id, rest[1], unquote("/".join(raw_rest[2:])))
        elif method == "POST" and action == "paths-info" and len(rest) == 2:
            self._paths_info(repo_type, repo_id, rest[1])
        elif method == "POST" and action == "preupload" and len(rest) == 2:
            self._preupload(repo_type, repo_id, rest[1])
        elif method == "POST" and action == "commit" and len(rest) == 2:
            self._commit(repo_type, repo_id, rest[1])
        elif method in ("POST", "DELETE") and action == "branch" and len(rest) == 2:
            self._branch(method, repo_type, repo_id, rest[1])
        elif method in ("POST", "DELETE") and action == "tag" and len(rest) == 2:
            self._tag(method, repo_type, repo_id, rest[1])
        elif method == "PUT" and action == "settings":
            self._settings(repo_type, repo_id)
        else:
            return False
        return True

    # ----- access control ---------------------------------------------------------------------------------
    def _can_write(self, namespace: str) -> bool:
        return self.user is not None and self.user.role == "write" and namespace in (self.user.name, *self.user.orgs)

    def _require_write(self, namespace: str, what: str):
        if self.user is None:
            raise HubError(401, f"You must be authenticated with a write token to {what}.")
        if not self._can_write(namespace):
            raise HubError(403, f"You don't have the rights to {what} under the namespace {namespace!r}.")

    def _get_repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.hub.repos.get((repo_type, repo_id))
        readable = repo is not None and (
            not repo.private or (self.user is not None and repo.namespace in (self.user.name, *self.user.orgs))
        )
        if not readable:
            # The Hub does not say whether a private repo exists.
            status = 401 if self.user is None else 404
            raise HubError(status, f"Repository {URL_PREFIXES[repo_type]}{repo_id} not found.", "RepoNotFound")
        return repo

    def _get_commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _json_body(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except json.JSONDecodeError as error:
            raise HubError(400, f"Request body is not valid JSON: {error}") from error

    # ----- accounts and repositories ----------------------------------------------------------------------
    def _whoami(self):
        if self.user is None:
            raise HubError(401, "You must be authenticated to call whoami.")
        user = self.user
        self._json(
            {
                "type": "user",
                "id": hashlib.sha1(user.name.encode()).hexdigest()[:24],
                "name": user.name,
                "fullname": user.name,
                "email": None,
                "emailVerified": False,
                "canPay": False,
                "isPro": False,
                "orgs": [{"type": "org", "name": org, "fullname": org, "roleInOrg": "write"} for org in user.orgs],
                "auth": {"type": "access_token", "accessToken": {"displayName": "loopback", "role": user.role}},
            }
        )

    def _create_repo_route(self):
        payload = self._json_body()
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES:
            raise HubError(400, f"Invalid repo type {repo_type!r}.")
        if self.user is None:
            raise HubError(401, "You must be authenticated with a write token to create a repository.")
        namespace = payload.get("organization") or self.user.name
        name = payload.get("name") or ""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}", name) or "--" in name:
            raise HubError(400, f"Invalid repository name {name!r}.")
        repo_id = f"{namespace}/{name}"
        self._require_write(namespace, f"create a {repo_type}")
        url = f"{self.hub.url}/{URL_PREFIXES[repo_type]}{repo_id}"
        if (repo_type, repo_id) in self.hub.repos:
            message = f"You already created this {repo_type} repo"
            self._json({"error": message, "url": url}, 409, {"X-Error-Message": message})
            return
        if repo_type == "space" and not payload.get("sdk"):
            raise HubError(400, "A Space needs an sdk.")
        private = payload.get("visibility", "public") == "private" or bool(payload.get("private"))
        self.hub._create_repo(repo_type, repo_id, private, self.user.name, payload.get("sdk"))
        self._json({"url": url, "name": repo_id, "id": hashlib.sha1(url.encode()).hexdigest()[:24]})

    def _delete_repo_route(self):
        payload = self._json_body()
        repo_type = payload.get("type") or "model"
        namespace = payload.get("organization") or (self.user.name if self.user else "")
        repo_id = f"{namespace}/{payload.get('name')}"
        self._get_repo(repo_type, repo_id)
        self._require_write(namespace, f"delete a {repo_type}")
        del self.hub.repos[(repo_type, repo_id)]
        self._json({})

    def _settings(self, repo_type: str, repo_id: str):
        repo = self._get_repo(repo_type, repo_id)
        self._require_write(repo.namespace, "change settings")
        payload = self._json_body()
        if "private" in payload:
            repo.private = bool(payload["private"])
        if "visibility" in payload:
            repo.private = payload["visibility"] == "private"
        self._json({})

    def _validate_yaml(self):
        payload = self._json_body()
        content = payload.get("content", "")
        try:
            _card_metadata(content.encode())
        except yaml.YAMLError as error:
            self._json({"errors": [{"message": f"Invalid YAML in README.md metadata: {error}"}]}, 400)
            return
        self._json({"errors": [], "warnings": []})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str):
        repo = self._get_repo(repo_type, repo_id)
        commit = self._get_commit(repo, revision)
        info = {
            "_id": hashlib.sha1(f"{repo_type}/{repo_id}".encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo.namespace,
            "sha": commit.oid,
            "lastModified": commit.date,
            "createdAt": repo.created_at,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": [
                {"rfilename": path, "size": len(self.hub.blobs[oid]), "blobId": oid}
                for path, oid in sorted(commit.files.items())
            ],
            "usedStorage": sum(len(self.hub.blobs[oid]) for oid in commit.files.values()),
        }
        if "README.md" in commit.files:
            try:
                card_data = _card_metadata(self.hub.blobs[commit.files["README.md"]])
            except yaml.YAMLError:
                card_data = None
            if card_data:
                info["cardData"] = card_data
                info["tags"] = list(card_data.get("tags") or [])
                if repo_type == "model":
                    info["library_name"] = card_data.get("library_name")
                    info["pipeline_tag"] = card_data.get("pipeline_tag")
        if repo_type == "model":
            info["modelId"] = repo_id
            if "config.json" in commit.files:
                try:
                    config = json.loads(self.hub.blobs[commit.files["config.json"]])
                    info["config"] = {k: config[k] for k in ("architectures", "model_type", "auto_map") if k in config}
                except (json.JSONDecodeError, TypeError):
                    pass
        if repo_type == "space":
            runtime = {"stage": "NO_APP_FILE", "hardware": {"current": None, "requested": None}}
            info.update(sdk=repo.sdk, runtime=runtime)
        self._json(info)

    def _refs(self, repo_type: str, repo_id: str):
        repo = self._get_repo(repo_type, repo_id)

        def refs(kind: str, items: dict) -> list[dict]:
            return [
                {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": oid} for name, oid in sorted(items.items())
            ]

        branches, tags = refs("heads", repo.branches), refs("tags", repo.tags)
        self._json({"branches": branches, "converts": [], "tags": tags, "pullRequests": []})

    def _list_commits(self, repo_type: str, repo_id: str, revision: str):
        repo = self._get_repo(repo_type, repo_id)
        self._get_commit(repo, revision)
        history = self.hub.commits(repo_id, repo_type, revision)
        self._json(
            [
                {"id": c.oid, "title": c.title, "message": c.message, "authors": [{"user": c.author}], "date": c.date}
                for c in history
            ]
        )

    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str):
        repo = self._get_repo(repo_type, repo_id)
        self._require_write(repo.namespace, "change branches")
        if method == "DELETE":
            if branch not in repo.branches or branch == "main":
                raise HubError(404 if branch not in repo.branches else 403, f"Cannot delete branch {branch!r}.")
            del repo.branches[branch]
        else:
            if branch in repo.branches:
                raise HubError(409, f"Branch {branch!r} already exists.")
            start = self._json_body().get("startingPoint") or "main"
            repo.branches[branch] = self._get_commit(repo, start).oid
        self._json({})

    def _tag(self, method: str, repo_type: str, repo_id: str, revision: str):
        repo = self._get_repo(repo_type, repo_id)
        self._require_write(repo.namespace, "change tags")
        if method == "DELETE":
            if repo.tags.pop(revision, None) is None:
                raise HubError(404, f"Tag {revision!r} not found.", "RevisionNotFound")
        else:
            tag = self._json_body().get("tag")
            if not tag:
                raise HubError(400, "A tag name is required.")
            if tag in repo.tags:
                raise HubError(409, f"Tag {tag!r} already exists.")
            repo.tags[tag] = self._get_commit(repo, revision).oid
        self._json({})

    # ----- listings ---------------------------------------------------------------------------------------
    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str):
        repo = self._get_repo(repo_type, repo_id)
        commit = self._get_commit(repo, revision)
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        expand = self.query.get("expand", "").lower() in ("1", "true")
        entries = _tree_entries(self.hub, commit, path, recursive)
        if entries is None:
            raise HubError(404, f"Entry {path!r} not found or not a folder.", "EntryNotFound", commit.oid)
        if expand:
            for entry in entries:
                entry["lastCommit"] = _last_commit(repo, commit, entry["path"])
        self._json(entries)

    def _paths_info(self, repo_type: str, repo_id: str, revision: str):
        repo = self._get_repo(repo_type, repo_id)
        commit = self._get_commit(repo, revision)
        if self.headers.get("Content-Type", "").startswith("application/json"):
            form = self._json_body()
            paths, expand = form.get("paths") or [], bool(form.get("expand"))
        else:
            form = parse_qs(self.body.decode())
            paths, expand = form.get("paths", []), (form.get("expand") or ["false"])[-1].lower() in ("1", "true")
        entries = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                entry = _file_entry(self.hub, path, commit.files[path])
            else:
                oids = [oid for p, oid in commit.files.items() if p.startswith(path + "/")]
                if not oids:
                    continue
                entry = _folder_entry(path, oids)
            if expand:
                entry["lastCommit"] = _last_commit(repo, commit, path)
            entries.append(entry)
        self._json(entries)

    # ----- uploads ----------------------------------------------------------------------------------------
    def _preupload(self, repo_type: str, repo_id: str, revision: str):
        repo = self._get_repo(repo_type, repo_id)
        self._require_write(repo.namespace, "upload files")
        commit = self._get_commit(repo, revision)
        files = self._json_body().get("files", [])
        self._json(
            {
                "files": [
                    # "regular" for every file: the client then sends contents inline in the commit, never LFS or Xet.
                    {
                        "path": f["path"],
                        "uploadMode": "regular",
                        "shouldIgnore": False,
                        "oid": commit.files.get(f["path"]),
                    }
                    for f in files
                ],
                "commitOid": commit.oid,
            }
        )

    def _commit(self, repo_type: str, repo_id: str, revision: str):
        repo = self._get_repo(repo_type, repo_id)
        self._require_write(repo.namespace, "commit")
        if self.query.get("create_pr") in ("1", "true"):
            raise HubError(400, "The loopback Hub does not implement pull requests (create_pr).")
        if revision not in repo.branches:
            raise HubError(404, f"Invalid rev id: {revision} is not a branch.", "RevisionNotFound")
        head = repo.commits[repo.branches[revision]]
        try:
            lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise HubError(400, f"Commit payload is not valid NDJSON: {error}") from error
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "Commit payload must start with a header line.")
        header = lines[0]["value"]
        parent = header.get("parentCommit")
        if parent and parent != head.oid:
            raise HubError(412, f"A commit has happened since {parent}. Please refresh and try again.")

        # Build the whole new tree first; nothing is stored unless every operation is valid (all or nothing).
        files = dict(head.files)
        new_blobs: dict[str, bytes] = {}
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            path = value.get("path", "")
            if key == "file":
                if any(fnmatch.fnmatch(path, pattern) for pattern in self.hub.refuse_paths):
                    raise HubError(422, f"The loopback Hub refused {path!r} (refuse_paths); nothing was committed.")
                if value.get("encoding") != "base64":
                    raise HubError(400, f"{path}: only base64-encoded files are supported.")
                content = base64.b64decode(value.get("content", ""))
                oid = git_blob_oid(content)
                new_blobs[oid] = content
                files[path] = oid
            elif key == "deletedFile":
                if path not in files:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del files[path]
            elif key == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                doomed = [p for p in files if p.startswith(prefix)]
                if not doomed:
                    raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in doomed:
                    del files[p]
            elif key in ("lfsFile", "xetFile"):
                raise HubError(400, f"{path}: the loopback Hub stores regular files only (got {key}).")
            else:
                raise HubError(400, f"Unknown commit operation {key!r}.")
        for oid, content in new_blobs.items():
            self.hub.blobs.setdefault(oid, content)
        author = self.user.name if self.user else "anonymous"
        title, message = header.get("summary") or "", header.get("description") or ""
        commit = self.hub._new_commit(repo, head.oid, files, title, message, author)
        repo.branches[revision] = commit.oid
        self._json(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.hub.url}/{URL_PREFIXES[repo_type]}{repo_id}/commit/{commit.oid}",
                "hookOutput": "",
                "pullRequestUrl": None,
            }
        )

    # ----- downloads --------------------------------------------------------------------------------------
    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str):
        repo = self._get_repo(repo_type, repo_id)
        commit = self._get_commit(repo, revision)
        oid = commit.files.get(path)
        if oid is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", commit.oid)
        content, name = self.hub.blobs[oid], path.split("/")[-1]
        headers = {
            "ETag": f'"{oid}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}; filename=\"{name}\";",
        }
        status, body = 200, content
        range_header = self.headers.get("Range")
        if range_header:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header.strip())
            if not match or (not match.group(1) and not match.group(2)):
                raise HubError(416, f"Unsupported Range {range_header!r}.")
            if match.group(1):
                start = int(match.group(1))
                end = int(match.group(2)) if match.group(2) else len(content) - 1
            else:  # suffix range: the last N bytes
                start, end = max(len(content) - int(match.group(2)), 0), len(content) - 1
            end = min(end, len(content) - 1)
            if start > end and len(content) > 0:
                self._send(416, b"", headers={"Content-Range": f"bytes */{len(content)}", **headers})
                return
            status, body = 206, content[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        headers["Content-Length"] = str(len(body))
        self._send(status, body, content_type="application/octet-stream", headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the loopback Hugging Face Hub (for manual testing).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--user", default="tester")
    parser.add_argument("--org", action="append", default=None, help="an organisation the user belongs to (repeatable)")
    args = parser.parse_args()
    hub = HubServer(args.host, args.port, args.user, tuple(args.org or ["org"])).start()
    print(f"Loopback Hub at {hub.url} (user {args.user!r}, orgs {args.org or ['org']}).")
    print(f"export HF_ENDPOINT={hub.url} HF_TOKEN={hub.token}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
