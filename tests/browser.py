"""Open a local HTML page in headless Chromium and report what a user's browser would: console errors, uncaught
exceptions, every network request the page made, and a full-page screenshot.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: requests on fd 3, replies
and events on fd 4, each a JSON message ended by a NUL byte), so no port is opened. Requests are those of the
page's own target (``Network.requestWillBeSent``), not Chromium's own background traffic.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--window-size=1280,900"]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    errors: list[str] = field(default_factory=list)     # console errors and uncaught exceptions
    requests: list[str] = field(default_factory=list)   # URLs the page asked for (its own file and data: included)
    screenshot: bytes = b""


class _Pipe:
    def __init__(self, proc, write_fd: int, read_fd: int):
        self.proc, self.w, self.r = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def read(self) -> dict:
        while b"\0" not in self.buffer:
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the pipe (exit code {self.proc.poll()})")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self.read()
            if event.get("method") == method:
                return event
            self.events.append(event)


def visit(page: str | os.PathLike, timeout: float = 60.0) -> PageVisit:
    """Load ``page`` (a local file), wait for its load event, and take a full-page screenshot."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium not found")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="posetrack-chromium-")
    # Chromium reads commands from fd 3 and writes to fd 4.
    proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(3, 4), preexec_fn=_dup_fds(to_browser_r, from_browser_w))
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = _Pipe(proc, to_browser_w, from_browser_r)
    timer = __import__("threading").Timer(timeout, proc.kill)
    timer.start()
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired")
        shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
        result = PageVisit(screenshot=base64.b64decode(shot["data"]))
        for event in pipe.events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                result.errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                result.errors.append(params["entry"].get("text", ""))
        try:
            pipe.send("Browser.close")
        except RuntimeError:
            pass  # the browser may close the pipe before replying
        return result
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        os.close(to_browser_w)
        os.close(from_browser_r)
        shutil.rmtree(profile, ignore_errors=True)


def _dup_fds(read_end: int, write_end: int):
    def setup():
        os.dup2(read_end, 3)
        os.dup2(write_end, 4)
    return setup
