"""A `hark serve` subprocess for the tests that talk to it (test_serve.py, test_asr_wyoming.py)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo" / "audio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `hark serve` subprocess; stopped with SIGTERM like a service manager would."""

    def __init__(self, *args: str, env: dict | None = None, config: Path | None = None):
        self.port, self.wyoming = free_port(), free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hark.cli", *(["--config", str(config)] if config else []), "serve",
             "--port", str(self.port),
             "--wyoming", f"tcp://127.0.0.1:{self.wyoming}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hark serve exited: {self.proc.stderr.read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    with socket.create_connection(("127.0.0.1", self.wyoming), timeout=0.5):
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("hark serve did not start within 60 s")

    def request(self, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
                ) -> tuple[int, object]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw, kind = resp.status, resp.read(), resp.headers.get("content-type", "")
        except urllib.error.HTTPError as exc:
            status, raw, kind = exc.code, exc.read(), exc.headers.get("content-type", "")
        return status, json.loads(raw) if "json" in kind else raw.decode()

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, err


def pcm(path: Path) -> tuple[bytes, int, int]:
    """A WAV's frames, sample rate and channel count."""
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes()), w.getframerate(), w.getnchannels()
