"""Load test of `hark serve` -> benchmarks/results/load.json: concurrent HTTP parses, real-time WebSocket audio
streams and the server's memory over a steady soak.

    python benchmarks/load.py                                                       # ~15 min, 10 of them the soak
    python benchmarks/load.py --clients 2 --seconds 3 --soak-seconds 5 --streams 1  # a smoke run

The server is ``python -m hark.cli serve`` on a free localhost port, shipped config.yaml (HARK_* variables but
HARK_DATA/HARK_CACHE left out), request log to a temporary file; the clients run in this process, on the same
machine. Phases, each with a hard deadline: ``text`` (N keep-alive clients in a closed loop over a seeded mix of
the skills' test sentences and sampled ones: parses/s, latency p50/p95/p99, errors = non-200 or exceptions),
``text_paced`` (--rate overall; latency from when each request was due, so falling behind counts), ``nbest5``
(the sentence + 4 corrupted variants, descending scores), ``streams_K`` (K WebSocket clients each stream the demo
WAVs at real time, 100 ms per message, each + 1 s of silence, over and over: end of audio -> action/out_of_scope
(endpointing + ASR + parse), and the lag of events stamped with stream time; real time = no send waited > 200 ms past schedule, every clip
answered, no errors, answers and stamped events at p95 within 1 s), ``soak`` (--soak-rate for --soak-seconds;
the server process's VmRSS after a warm-up of a minute, at most a fifth of the soak, to the end). VmRSS of the server
and of its decoder processes, and their CPU seconds, are read from /proc every second throughout (``timeline``).
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _bench import corrupt_words, percentile, stamp  # noqa: E402

DEMO = ROOT / "examples" / "demo" / "audio"
RATE, FRAME = 16000, 3200  # 100 ms of 16-bit mono PCM per message
ANSWERS = {"action", "out_of_scope"}
MAX_SEND_LAG_S, MAX_LAG_S, ANSWER_WAIT_S = 0.2, 1.0, 5.0


def ms_stats(xs: list[float]) -> dict:
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "p50": round(percentile(xs, 0.5), 2), "p95": round(percentile(xs, 0.95), 2),
            "p99": round(percentile(xs, 0.99), 2), "max": round(max(xs), 2)}


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the asr plugin's decoder processes), by the parent field of /proc/*/stat."""
    out: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    return out


class Server:
    """``hark serve`` as a subprocess; a thread samples the VmRSS (MB) and CPU seconds of it and its decoder
    processes every second."""

    def __init__(self, port: int):
        self.port, self.log = port, tempfile.NamedTemporaryFile("w+", prefix="hark-load-", suffix=".log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_") or k in ("HARK_DATA", "HARK_CACHE")}
        self.dropped_env = sorted(set(os.environ) - set(env))
        self.proc = subprocess.Popen([sys.executable, "-m", "hark.cli", "serve", "--port", str(port)], cwd=ROOT,
                                     env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.t0, self.phase, self.rows, self._stop = time.perf_counter(), "startup", [], threading.Event()
        threading.Thread(target=self._every_second, daemon=True).start()

    def wait_ready(self, timeout: float = 120) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hark serve exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - self.t0
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise RuntimeError(f"hark serve did not answer /health within {timeout:.0f} s")

    def sample(self) -> None:
        """VmRSS of the server and of its decoder processes (its children), and the CPU seconds of all of them
        (reaped children's too)."""
        kb, children_kb, ticks = 0, 0, 0
        for k, pid in enumerate([self.proc.pid] + _children(self.proc.pid)):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                if k == 0:
                    return  # the server is gone
                continue  # a child that just exited
            if k == 0:
                kb = rss
                ticks += int(stat[13]) + int(stat[14])
            else:
                children_kb += rss
            ticks += int(stat[11]) + int(stat[12])
        cpu = ticks / os.sysconf("SC_CLK_TCK")
        self.rows.append((round(time.perf_counter() - self.t0, 2), self.phase, round(kb / 1024, 1), round(cpu, 2),
                          round(children_kb / 1024, 1)))

    def _every_second(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def mark(self, phase: str) -> None:
        """``phase`` starts: a sample now, labelled with it."""
        self.phase = phase
        self.sample()

    def summary(self, phase: str) -> dict:
        """VmRSS at the start, end and peak of ``phase``; server CPU seconds and % of one core over it."""
        i = [k for k, r in enumerate(self.rows) if r[1] == phase]
        if not i:
            return {}
        first, nxt = self.rows[i[0]], self.rows[min(i[-1] + 1, len(self.rows) - 1)]
        wall, cpu = nxt[0] - first[0], nxt[3] - first[3]
        total = [self.rows[k][2] + self.rows[k][4] for k in i]  # the server and its decoder processes
        return {"rss_mb_start": round(total[0], 1), "rss_mb_end": round(total[-1], 1), "rss_mb_max": round(max(total), 1),
                "decoder_processes_rss_mb_max": max(self.rows[k][4] for k in i), "server_cpu_s": round(cpu, 2),
                "server_cpu_pct": round(100 * cpu / wall, 1) if wall > 0 else None}

    def stop(self) -> dict:
        """SIGTERM (a clean exit finishes the requests in flight), then kill."""
        self._stop.set()
        t0 = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return {"exit_code": self.proc.returncode, "stop_s": round(time.perf_counter() - t0, 2)}

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")


def server_log(text: str, windows: dict[str, tuple[float, float]]) -> dict:
    """The request log: answers by status, tracebacks, other lines, and the server's own /parse ms per phase."""
    statuses, other, server_ms = Counter(), [], {name: [] for name in windows}
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or "status" not in row:
            if line.strip() and len(other) < 20:
                other.append(line[:300])
            continue
        statuses[f"{row.get('path')} {row['status']}"] += 1
        for name, (a, b) in windows.items():
            if row.get("path") == "/parse" and a <= row.get("ts", 0) <= b:
                server_ms[name].append(row["ms"])
    return {"requests_by_status": dict(statuses), "tracebacks": text.count("Traceback"), "other_lines": other,
            "server_parse_ms": {name: ms_stats(xs) for name, xs in server_ms.items() if xs}}


# --------------------------------------------------------------------------------------------------- HTTP


def http_client(port: int, bodies: list[bytes], first: int, step: int, t0: float, end: float, rate: float | None,
                timeout: float, out: dict) -> None:
    """POST bodies ``first``, ``first + step``, ... (cycled) to /parse until ``end``: back to back, or each when
    due at ``rate`` per second overall (its latency then counts from when it was due)."""
    conn, j = None, 0
    while True:
        k = first + j * step
        j += 1
        due = t0 + k / rate if rate else time.perf_counter()
        if due >= end:
            break
        if due > time.perf_counter():
            time.sleep(due - time.perf_counter())
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.request("POST", "/parse", bodies[k % len(bodies)], {"Content-Type": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200 or not resp.read().startswith(b"{"):
                out["errors"][f"HTTP {resp.status}"] += 1
                continue
            out["ms"].append((time.perf_counter() - due) * 1000)
        except (OSError, http.client.HTTPException) as exc:
            out["errors"][type(exc).__name__] += 1
            if conn is not None:
                conn.close()
            conn = None
    out["done"] = time.perf_counter()
    if conn is not None:
        conn.close()


def http_phase(port: int, bodies: list[bytes], clients: int, seconds: float, rate: float | None = None,
               timeout: float = 10.0) -> dict:
    t0 = time.perf_counter()
    end = t0 + seconds
    outs = [{"ms": [], "errors": Counter(), "done": None} for _ in range(clients)]
    threads = [threading.Thread(target=http_client, args=(port, bodies, i, clients, t0, end, rate, timeout, out),
                                daemon=True) for i, out in enumerate(outs)]
    for t in threads:
        t.start()
    for t in threads:  # the deadline: the phase plus one client timeout, then a client is left behind
        t.join(timeout=max(0.0, end + timeout + 5 - time.perf_counter()))
    ms = [x for out in outs for x in list(out["ms"])]
    errors = sum((out["errors"] for out in outs), Counter())
    if any(t.is_alive() for t in threads):
        errors["client stuck past the deadline"] += sum(t.is_alive() for t in threads)
    elapsed = max(out["done"] or time.perf_counter() for out in outs) - t0
    return {"clients": clients, "seconds": round(elapsed, 2), "rate_target": rate, "ok": len(ms),
            "parses_per_s": round(len(ms) / elapsed, 1), "latency_ms": ms_stats(ms),
            "errors": sum(errors.values()), "error_kinds": dict(errors)}


# ---------------------------------------------------------------------------------------------- WebSocket


async def stream_client(port: int, clips: list[tuple[str, bytes]], index: int, end: float) -> dict:
    """Clips + 1 s of silence at real time until ``end`` (at least one); per clip, when its audio ended and when
    the answer after its speech_end came (the server sends speech_end with the answer, once the parse is done)."""
    from websockets.asyncio.client import connect

    reps, kinds, lags, send_lag = [], Counter(), {"speech_start": [], "scene": []}, 0.0
    state = {"pending": None, "extra": 0}
    async with connect(f"ws://127.0.0.1:{port}/stream?rate={RATE}", open_timeout=10, close_timeout=2) as ws:
        t0 = time.perf_counter()  # stream time 0

        async def receive() -> None:
            async for message in ws:
                now, event = time.perf_counter(), json.loads(message)
                kind, data = event.get("kind"), event.get("data") or {}
                kinds[kind] += 1
                if kind == "scene" and "timestamp" in data:
                    lags["scene"].append(now - t0 - float(data["timestamp"]))
                elif kind == "speech_start" and "start" in data:
                    lags["speech_start"].append(now - t0 - float(data["start"]))
                elif kind == "speech_end" and "end" in data:  # the clip whose stretch of the stream it ends in
                    hits = [r for r in reps if r["start_s"] <= float(data["end"])]
                    state["pending"] = hits[-1] if hits else None
                elif kind in ANSWERS:
                    rep = state["pending"]
                    if rep is None or "answer" in rep:
                        state["extra"] += 1
                    else:
                        rep["answer"], rep["kind"], state["pending"] = now, kind, None

        receiver = asyncio.create_task(receive())
        pos = 0  # bytes of the stream sent so far
        while not receiver.done():
            name, audio = clips[(index + len(reps)) % len(clips)]
            if reps and t0 + (pos + len(audio)) / (2 * RATE) + 1.0 > end:
                break
            rep = {"clip": name, "start_s": pos / (2 * RATE)}
            reps.append(rep)
            data = audio + b"\0\0" * RATE
            for i in range(0, len(data), FRAME):
                frame = data[i:i + FRAME]
                due = t0 + (pos + len(frame)) / (2 * RATE)  # when a microphone has this frame's audio
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await ws.send(frame)
                pos += len(frame)
                send_lag = max(send_lag, time.perf_counter() - due)
                if i + FRAME >= len(audio) and "audio_end" not in rep:
                    rep["audio_end"] = time.perf_counter()
        wait_until = time.perf_counter() + ANSWER_WAIT_S
        while any("answer" not in r for r in reps) and time.perf_counter() < wait_until and not receiver.done():
            await asyncio.sleep(0.05)
        error = receiver.exception() if receiver.done() else None
        receiver.cancel()
    return {"reps": reps, "kinds": kinds, "lags": lags, "send_lag": send_lag, "extra": state["extra"],
            "error": repr(error) if error else None}


async def stream_phase(port: int, clips: list[tuple[str, bytes]], k: int, seconds: float) -> dict:
    end = time.perf_counter() + seconds
    longest = max(len(a) for _, a in clips) / (2 * RATE) + 1.0
    try:
        got = await asyncio.wait_for(asyncio.gather(*[stream_client(port, clips, i, end) for i in range(k)],
                                                    return_exceptions=True), seconds + longest + ANSWER_WAIT_S + 20)
    except asyncio.TimeoutError:
        return {"streams": k, "realtime": False, "timed_out": True, "errors": k}
    ok = [g for g in got if isinstance(g, dict)]
    failed = [repr(g) for g in got if not isinstance(g, dict)] + [g["error"] for g in ok if g["error"]]
    reps = [r for g in ok for r in g["reps"]]
    answered = [r for r in reps if "answer" in r]
    kinds = sum((g["kinds"] for g in ok), Counter())
    lags = {name: [x * 1000 for g in ok for x in g["lags"][name]] for name in ("speech_start", "scene")}
    answer_ms = [(r["answer"] - r["audio_end"]) * 1000 for r in answered]
    send_lag = max([g["send_lag"] for g in ok], default=0.0)
    errors = len(failed) + kinds.get("error", 0)
    late = [name for name, xs in [*lags.items(), ("answer", answer_ms)]
            if xs and percentile(xs, 0.95) > MAX_LAG_S * 1000]
    realtime = not errors and len(answered) == len(reps) > 0 and send_lag <= MAX_SEND_LAG_S and not late
    return {"streams": k, "realtime": realtime, "clips": len(reps), "answered": len(answered),
            "answers": dict(Counter(r["kind"] for r in answered)), "unmatched_answers": sum(g["extra"] for g in ok),
            "audio_end_to_answer_ms": ms_stats(answer_ms), "late_at_p95": late,
            "event_lag_ms": {name: ms_stats(xs) for name, xs in lags.items()},
            "max_send_lag_ms": round(send_lag * 1000, 1), "events": dict(kinds), "errors": errors,
            "failures": failed[:5]}


# ---------------------------------------------------------------------------------------------------- main


def workload(seed: int) -> tuple[list[str], list[bytes], list[bytes], list[tuple[str, bytes]]]:
    """Sentences (held-out tests + sampled), their text and 5-best bodies, and the demo clips."""
    from hark import Engine, load_config
    from hark.sentences import sample_sentences

    engine = Engine(load_config(ROOT / "config.yaml", env={}))
    try:
        sentences = {t.text for t in engine.skills.tests()}
        sentences |= {" ".join(s.words) for s in sample_sentences(engine.skills, per_intent=8, seed=seed)}
    finally:
        engine.close()
    rng = random.Random(seed)
    sentences = sorted(sentences)
    rng.shuffle(sentences)
    texts = [json.dumps({"text": s}).encode() for s in sentences]
    nbests = [json.dumps({"nbest": [{"text": s, "score": 0.6}] + [
        {"text": " ".join(corrupt_words(s.split(), rng)), "score": p} for p in (0.2, 0.1, 0.06, 0.04)]}).encode()
        for s in sentences]
    clips = []
    for path in sorted(DEMO.glob("*.wav")):
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2), path
            clips.append((path.stem, w.readframes(w.getnframes())))
    return sentences, texts, nbests, clips


def summary_line(p: dict) -> str:
    if "streams" in p:
        get = lambda key, q="p95": (p.get(key) or {}).get(q)  # noqa: E731
        return (f"real time {p['realtime']}, {p.get('answered')}/{p.get('clips')} clips answered, audio end -> "
                f"answer p50 {get('audio_end_to_answer_ms', 'p50')} p95 {get('audio_end_to_answer_ms')} ms, "
                f"speech_start lag p95 {(p.get('event_lag_ms') or {}).get('speech_start', {}).get('p95')} ms, "
                f"send lag max {p.get('max_send_lag_ms')} ms, {p['errors']} errors, "
                f"server CPU {p.get('server_cpu_pct')} %")
    lat, rss = p["latency_ms"], (f", RSS {p['rss_mb_start']} -> {p['rss_mb_end']} MB "
                                 f"({p['rss_change_pct']:+.2f} % after {p['warmup_s']:.0f} s)"
                                 if "rss_change_pct" in p else f", RSS {p.get('rss_mb_end')} MB")
    return (f"{p['clients']} clients, {p['seconds']} s: {p['parses_per_s']} parses/s, p50 {lat.get('p50')} p95 "
            f"{lat.get('p95')} p99 {lat.get('p99')} ms, {p['errors']} errors, server CPU {p.get('server_cpu_pct')} %"
            + rss)


def soak_rss(rows: list[tuple], warmup_s: float) -> dict:
    """The server process's VmRSS over the soak (text only). Its decoder processes are reported beside it: they
    serve audio streams only, and an idle one exits after two minutes, which is not the server's memory."""
    steady = [r for r in rows if r[0] >= rows[0][0] + warmup_s] or rows[-1:]
    start, end = steady[0][2], steady[-1][2]
    return {"warmup_s": warmup_s, "rss_mb_start": start, "rss_mb_end": end,
            "rss_change_pct": round(100 * (end - start) / start, 2), "rss_mb_min": min(r[2] for r in steady),
            "rss_mb_max": max(r[2] for r in steady),
            "rss_max_deviation_pct": round(100 * max(abs(r[2] - start) for r in steady) / start, 2),
            "rss_mb_per_s": [r[2] for r in rows],
            "decoder_processes_rss_mb_per_s": [r[4] for r in rows]}


def targets(phases: dict, errors: int, rate: float) -> dict:
    text, soak = phases.get("text", {}), phases.get("soak", {})
    p99 = phases.get("text_paced", {}).get("latency_ms", {}).get("p99")
    tried = {p["streams"]: p["realtime"] for n, p in phases.items() if n.startswith("streams_")}
    best = max([k for k, ok in tried.items() if ok], default=0)
    change, worst = soak.get("rss_change_pct"), soak.get("rss_max_deviation_pct")
    return {
        "text_parses_per_s": {"value": text.get("parses_per_s"), "target": ">= 300",
                              "met": (text.get("parses_per_s") or 0) >= 300},
        "text_p99_ms_at_300_per_s": {"value": p99, "paced_rate": rate, "target": "<= 50",
                                     "met": p99 is not None and p99 <= 50 and rate >= 300},
        "errors": {"value": errors, "target": "== 0", "met": errors == 0},
        "soak_rss_change_pct": {"value": change, "max_deviation_pct": worst, "target": "within +-5 % (every sample)",
                                "met": None if worst is None else abs(change) <= 5 and worst <= 5},
        "realtime_audio_streams": {"value": best, "tried": tried, "target": ">= 4", "met": best >= 4},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    ap.add_argument("--seconds", type=float, default=30, help="length of each phase")
    ap.add_argument("--soak-seconds", type=float, default=600, help="steady text load for the RSS soak (0: none)")
    ap.add_argument("--streams", default="1,2,4,6", help="numbers of concurrent WebSocket audio streams to try")
    ap.add_argument("--rate", type=float, default=300, help="text_paced: parses/s overall")
    ap.add_argument("--soak-rate", type=float, default=100, help="soak: parses/s overall")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "load.json"))
    args = ap.parse_args()
    ks = [int(k) for k in args.streams.split(",") if k.strip()]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below still stops the server
    sentences, texts, nbests, clips = workload(args.seed)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = args.port or sock.getsockname()[1]
    server = Server(port)
    phases: dict[str, dict] = {}
    windows: dict[str, tuple[float, float]] = {}
    loads: dict[str, list[float]] = {}

    def run(name: str, fn, *fn_args) -> None:
        server.mark(name)
        loads[name] = [round(x, 2) for x in os.getloadavg()]
        a = time.time()
        phases[name] = fn(*fn_args)
        windows[name] = (a, time.time())
        server.mark(f"after {name}")
        phases[name].update(server.summary(name))
        if name == "soak":
            phases[name].update(soak_rss([r for r in server.rows if r[1] == name], min(60.0, args.soak_seconds / 5)))
        print(f"[load] {name}: {summary_line(phases[name])}", flush=True)
        if server.proc.poll() is not None:
            raise RuntimeError(f"hark serve exited with {server.proc.returncode} during {name}")

    try:
        startup_s = server.wait_ready()
        server.mark("warmup")  # lazy loads happen here, not in a measured phase
        conn, understood = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
        for body in texts[:40]:
            conn.request("POST", "/parse", body, {"Content-Type": "application/json"})
            understood += json.loads(conn.getresponse().read()).get("intent") is not None
        conn.close()
        warm = asyncio.run(stream_phase(port, clips[:1], 1, 0.0))
        phases["warmup"] = {"parses": 40, "with_intent": understood, "clip_answered": warm.get("answered")}
        print(f"[load] server up in {startup_s:.1f} s; warm-up: {understood}/40 parses found an intent, "
              f"{warm.get('answered')}/1 clip answered", flush=True)
        for name, bodies, rate in (("text", texts, None), ("text_paced", texts, args.rate), ("nbest5", nbests, None)):
            run(name, http_phase, port, bodies, args.clients, args.seconds, rate)
        for k in ks:
            run(f"streams_{k}", lambda k=k: asyncio.run(stream_phase(port, clips, k, args.seconds)))
        if args.soak_seconds > 0:
            run("soak", http_phase, port, texts, args.clients, args.soak_seconds, args.soak_rate)
    finally:
        stopped = server.stop()
        log = server_log(server.log_text(), windows)
        server.log.close()

    errors = sum(p.get("errors", 0) for p in phases.values()) + log["tracebacks"]
    result = {
        "benchmark": "hark serve: concurrent HTTP parses, real-time WebSocket audio streams, RSS over a soak",
        "settings": {"clients": args.clients, "seconds_per_phase": args.seconds, "soak_seconds": args.soak_seconds,
                     "soak_rate": args.soak_rate, "paced_rate": args.rate, "streams": ks, "seed": args.seed,
                     "port": port, "server": "python -m hark.cli serve (shipped config.yaml, default options)",
                     "env_left_out": server.dropped_env, "sentences": len(sentences),
                     "clips": [name for name, _ in clips],
                     "realtime_rule": {"max_send_lag_ms": MAX_SEND_LAG_S * 1000, "every_clip_answered": True,
                                       "answer_and_event_lag_p95_ms": MAX_LAG_S * 1000, "errors": 0}},
        "machine": {"cpus": os.cpu_count(), "load_average_at_phase_start": loads,
                    "note": "the clients run on the same machine as the server"},
        "server": {"startup_s": round(startup_s, 1), **stopped, "log": log},
        "phases": phases,
        "targets": targets(phases, errors, args.rate),
        "timeline": {"columns": ["t_s", "phase", "rss_mb", "server_cpu_s", "decoder_processes_rss_mb"],
                     "rows": server.rows},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stamp(result, ROOT), indent=2, ensure_ascii=False) + "\n")
    print("[load] targets: " + ", ".join(f"{k} {v['value']} ({ {True: 'met', False: 'NOT met'}.get(v['met'], 'n/a')})"
                                         for k, v in result["targets"].items()))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
