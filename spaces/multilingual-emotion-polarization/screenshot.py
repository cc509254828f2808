"""Start this Space with given models on 127.0.0.1, classify a text in headless Chromium, save a screenshot.

    python screenshot.py --emotion-model ../../outputs/brighter-tiny4 --polarization-model ../../outputs/polar-tiny4 \\
        [--polarization-type-model DIR] [--recommender-model DIR] [--example Arabic | --text "..."] --out space.png

Models not named are switched off (not fetched from the Hub ids in space_config.yaml).

A development tool (it needs `playwright` and Debian's `chromium`, which the Space itself does not); the tests
reuse `serve_space` and `launch_chromium` from here.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Loopback requests must never go through a proxy from the environment.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_space(
    env: Mapping[str, str] | None = None, timeout: float = 180, log_path: str | None = None
) -> Iterator[str]:
    """Run `python app.py` with `env` added to the environment; yield its URL once it answers, stop it after."""
    port = free_port()
    environment = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log_path = log_path or tempfile.mkstemp(prefix="space-", suffix=".log")[1]
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "w+", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=SPACE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"The Space exited with code {process.returncode}:\n{_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"The Space did not answer on {url} within {timeout:.0f} s:\n{_tail(log_path)}")
                try:
                    with _LOOPBACK.open(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                # Polling the port: the server has no other way to say it is up.
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _tail(path: str, lines: int = 40) -> str:
    return "".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-lines:])


def launch_chromium(playwright, executable: str = CHROMIUM):
    """Headless Debian chromium through Playwright (it cannot download its own browser offline)."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def screenshot(url: str, out: Path, text: str | None = None, example: str = "English", width: int = 1280) -> None:
    """Open the page, classify `text` (default: the first example in `example`'s language), save a full-page PNG."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(url)
        if text is None:
            page.get_by_role("button", name=re.compile(f"^{re.escape(example)}: ")).first.click()
            # Loading an example is a round trip to the server: wait for the text box to receive it.
            expect(page.locator("#text-input textarea")).not_to_have_value("", timeout=60_000)
        else:
            page.locator("#text-input textarea").fill(text)
        page.locator("#classify").click()
        expect(page.locator("#text-status")).to_contain_text("Language", timeout=60_000)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for task in ("emotion", "polarization", "polarization-type", "recommender"):
        parser.add_argument(f"--{task}-model", help=f"Hub id or folder of the {task.replace('-', ' ')} model")
    parser.add_argument(
        "--config", type=Path, default=SPACE_DIR / "space_config.yaml", help="the Space config to start from"
    )
    parser.add_argument("--text", help="text to classify (default: click an example)")
    parser.add_argument("--example", default="English", help="language of the example to click (default: English)")
    parser.add_argument("--out", type=Path, default=Path("space.png"), help="where to save the PNG")
    args = parser.parse_args(argv)

    import yaml

    env = {}
    for task in ("emotion", "polarization", "polarization_type", "recommender"):
        value = getattr(args, f"{task}_model")
        # Models not given are switched off rather than fetched from the Hub ids of space_config.yaml.
        env[f"{task.upper()}_MODEL"] = str(Path(value).resolve()) if value and Path(value).exists() else (value or "")
    config = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
    if env["RECOMMENDER_MODEL"]:
        # Naming the recommender on this command line is the owner's decision to run its code.
        config["trust_remote_code"] = [*(config.get("trust_remote_code") or []), env["RECOMMENDER_MODEL"]]
    with tempfile.TemporaryDirectory() as folder:
        env["SPACE_CONFIG"] = str(Path(folder) / "space_config.yaml")
        Path(env["SPACE_CONFIG"]).write_text(yaml.safe_dump(config), encoding="utf-8")
        with serve_space(env, log_path=str(Path(folder) / "space.log")) as url:
            screenshot(url, args.out.resolve(), args.text, args.example)
    print(f"Saved {args.out.resolve()}")


if __name__ == "__main__":
    main()
