"""The `hark serve` section of docs/benchmarks.md (benchmarks/load.py -> results/load.json). Kept apart from
report.py, which renders every other section, so neither file grows past reading length."""
from __future__ import annotations

from typing import Any

__all__ = ["serve_section"]


def serve_section(rep: Any, table: Any, mark: Any) -> str:
    """Throughput and latency of text and 5-best requests, real-time audio streams and memory over the soak."""
    out = ["## Serving: `hark serve` under load"]
    r = rep.get("load.json")
    if r is None:
        return "\n".join(out + ["", rep.missing("load.json")])
    d = r.data
    phases, settings = d.get("phases", {}), d.get("settings", {})
    out += ["", "Clients and server share the 2-core machine (localhost, HTTP/1.1 keep-alive). `text` is closed-loop "
            "(each client sends its next request when the answer comes), `text_paced` holds a fixed rate and counts "
            "latency from when each request was due, `nbest5` sends the sentence plus four corrupted variants. "
            "Server CPU is the share of one core taken by `hark serve` and its decoder processes (audio streams beyond "
            "the first decode in child processes, docs/decisions.md 40); RSS is theirs together.", ""]
    rows = []
    for name in ("text", "text_paced", "nbest5", "soak"):
        ph = phases.get(name)
        if not ph:
            continue
        lat = ph.get("latency_ms") or {}
        rows.append([name, str(ph.get("clients", "?")), f"{ph.get('parses_per_s', 0):.0f}",
                     *(f"{lat.get(k, float('nan')):.1f}" for k in ("p50", "p95", "p99")), str(ph.get("errors", "?")),
                     f"{ph.get('server_cpu_pct', 0):.0f} %", f"{ph.get('rss_mb_start', 0):.0f} → {ph.get('rss_mb_end', 0):.0f}"])
    out.append(table(["phase", "clients", "requests/s", "p50 ms", "p95 ms", "p99 ms", "errors", "server CPU",
                      "RSS MB"], rows))
    streams = [(k, v) for k, v in phases.items() if k.startswith("streams_")]
    if streams:
        srows = []
        for name, ph in sorted(streams, key=lambda kv: int(kv[0].split("_")[1])):
            ans = ph.get("audio_end_to_answer_ms") or {}
            srows.append([str(ph.get("streams")), "yes" if ph.get("realtime") else "**no**",
                          f"{ph.get('answered', 0)}/{ph.get('clips', 0)}", f"{ans.get('p50', float('nan')):.0f}",
                          f"{ans.get('p95', float('nan')):.0f}", f"{ph.get('max_send_lag_ms', float('nan')):.0f}",
                          f"{ph.get('server_cpu_pct', 0):.0f} %"])
        rule = settings.get("realtime_rule") or {}
        first, last = streams[0][1], max(streams, key=lambda kv: int(kv[0].split("_")[1]))[1]
        out += ["", "Audio: each WebSocket client streams a demo WAV at real time (100 ms messages), then a second of "
                    "silence, over and over. A number of streams counts as real time when no send waited more than "
                    f"{rule.get('max_send_lag_ms', '?')} ms, every clip was answered, answers and events came within "
                    f"{rule.get('answer_and_event_lag_p95_ms', '?')} ms at p95, and nothing failed. Server memory "
                    f"went from {first.get('rss_mb_start', 0):.0f} MB before the first stream to "
                    f"{last.get('rss_mb_max', 0):.0f} MB at the most streams, decoder processes included (each stream "
                    f"holds its own recognizer; each decoder process its own copy of the models).",
                "",
                table(["streams", "real time", "answered", "audio end → answer p50 ms", "p95 ms", "max send lag ms",
                       "server CPU"], srows)]
    soak = phases.get("soak") or {}
    if soak:
        out += ["", f"Soak: {soak.get('seconds', 0):.0f} s of text at {soak.get('rate_target', '?')} requests/s; the "
                    f"server process's RSS (decoder processes serve audio only, and exit when idle) after "
                    f"the {soak.get('warmup_s', 0):.0f} s warm-up went {soak.get('rss_mb_start', 0):.1f} → "
                    f"{soak.get('rss_mb_end', 0):.1f} MB ({soak.get('rss_change_pct', 0):+.2f} %, every sample within "
                    f"{soak.get('rss_max_deviation_pct', 0):.2f} %)."]
    names = {"text_parses_per_s": ">= 300 text parses/s on 2 cores (both intent tiers)",
             "text_p99_ms_at_300_per_s": "p99 <= 50 ms at 300 parses/s", "errors": "0 errors under load",
             "soak_rss_change_pct": "RSS within +-5 % over the soak",
             "realtime_audio_streams": ">= 4 concurrent audio streams in real time"}
    for key, what in names.items():
        t = (d.get("targets") or {}).get(key)
        if t is not None:
            rep.target("serve", what, str(t.get("value")), t.get("met"))
    out += ["", rep.source(r)]
    return "\n".join(out)
