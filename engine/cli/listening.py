"""`hark listen`, `hark transcribe` and `hark devices`: microphones, WAV files and raw PCM through the engine."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..config import project_root
from ..errors import InputError
from . import _config, _dump, _engine, _user_errors, cli



def _not_a_request(data: dict) -> str:
    """"negated", or "negated, would have been home.UnlockDoor" when a reading was sure enough to act."""
    first = data["not_a_request"][0]
    sure = first["confidence"] >= data.get("min_confidence", 0.5)
    return first["form"] + (f", would have been {first['skill']}.{first['intent']}" if sure else "")


def _event_json(event: Any) -> dict[str, Any]:
    """An event as JSON for ``listen --json``: utterance audio replaced by its duration in seconds."""
    d = event.to_dict()
    if d.pop("audio", None) is not None:
        d["data"] = dict(d.get("data") or {}, audio_seconds=round(event.audio.duration, 3))
    return d


def _event_line(event: Any, clock: float) -> str | None:
    """One readable line for ``listen`` (never the audio itself), or None for events not worth a line."""
    d, kind = event.data, event.kind
    stamp = f"[{clock:7.2f}s] "
    if kind == "speech_start":
        return stamp + click.style("speech started", fg="cyan")
    if kind == "speech_end":
        why = d.get("reason", "")
        return stamp + click.style("speech ended", fg="cyan") + \
            f" ({d.get('start', 0):.2f}-{d.get('end', 0):.2f} s{', ' + why if why and why != 'silence' else ''})"
    if kind == "utterance":
        hyps = d.get("nbest") or []
        heard = " | ".join(f"{h['text']} ({h['score']:.2f})" for h in hyps[:5])
        return stamp + f"heard: {heard}  [{d.get('source', '')}]"
    if kind == "interpretation":
        best = (d.get("interpretations") or [{}])[0]
        return stamp + f"intent: {best.get('skill')}.{best.get('intent')} conf={best.get('confidence', 0):.2f}"
    if kind == "action":
        line = stamp + click.style(f"action: {d.get('name')}", fg="green") + \
            f" {json.dumps(d.get('params') or {}, ensure_ascii=False)} conf={d.get('confidence', 0):.2f}"
        return line + (f"\n{'':12}says: {d['response']}" if d.get("response") else "")
    if kind == "wake":
        return stamp + click.style("wake phrase heard", fg="cyan") + f": listening until {d.get('listening_until')} s"
    if kind == "ignored":
        return stamp + click.style("ignored", fg="yellow") + f" {d.get('text', '')!r}: {d.get('reason', '')}"
    if kind == "confirm":
        return stamp + click.style("asks", fg="magenta") + f": {d.get('prompt')} (acts only on a yes)"
    if kind == "cancelled":
        return stamp + click.style("cancelled", fg="yellow") + f" {d.get('skill')}.{d.get('intent')}: " \
            f"{d.get('reason')}"
    if kind == "out_of_scope" and d.get("not_a_request"):
        return stamp + click.style("not a request", fg="yellow") + f" ({_not_a_request(d)}): no action"
    if kind == "out_of_scope":
        why = d.get("reason") or (f"nothing understood in {d.get('text')!r}" if d.get("text") else "")
        return stamp + click.style("out_of_scope", fg="yellow") + (f" ... {why}" if why else "")
    if kind == "error":
        where = " ".join(str(d[k]) for k in ("plugin", "hook") if d.get(k))
        return stamp + click.style("error", fg="red") + f" {where}: {d.get('message', '')}"
    extra = {k: v for k, v in d.items() if k != "audio"}
    return stamp + f"{kind} {json.dumps(extra, ensure_ascii=False, default=str)}"


@cli.command()
@click.option("--wav", "wav", type=click.Path(dir_okay=False), metavar="FILE",
              help="Read a WAV file (any rate, channels, PCM/float format) instead of a microphone.")
@click.option("--raw", is_flag=True, help="Read raw signed 16-bit little-endian mono PCM from stdin.")
@click.option("--rate", type=click.IntRange(1000, 384000), default=16000, show_default=True,
              help="Sample rate of --raw input (resampled to 16 kHz).")
@click.option("--device", "-d", metavar="NAME",
              help="Microphone by index or name substring (see `hark devices`); default: the default input.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON event per line (utterance audio replaced by audio_seconds).")
@click.option("--wake", "wake", metavar="PHRASE",
              help='Act only on utterances that start with PHRASE ("hey hark turn on the light"), or that follow '
                   "PHRASE said alone within engine.wake_window_s. Default: engine.wake_phrase (empty: every "
                   "utterance is a command).")
@click.option("--push-to-talk", "ptt", is_flag=True,
              help="Microphone only: press Enter, then speak; the utterance ends at the next pause.")
@click.option("--reload/--no-reload", default=True, show_default=True,
              help="Microphone and --raw: pick up edited skills between utterances (templates at once; the "
                   "trained model after `hark train`).")
@click.pass_context
@_user_errors
def listen(ctx: click.Context, wav: str | None, raw: bool, rate: int, device: str | None, as_json: bool,
           wake: str | None, ptt: bool, reload: bool) -> None:
    """Listen to a microphone (or --wav FILE, or --raw PCM on stdin) and print events as they happen.

    \b
    Events: speech started/ended (the vad plugin), what was heard (the n-best list of an ASR plugin), the
    interpretation, the action, out_of_scope, errors; the scene and its sounds when they change, and safety
    alerts (the scene_context plugin; `hark scene FILE` shows only those). Without an ASR plugin, utterances are still endpointed
    and each one ends in "out_of_scope ... no ASR plugin transcribed the audio".
    Ctrl-C stops listening and prints a summary (utterances, input overflows) on stderr.

    \b
    Modes: always listening (default: every utterance is a command), wake phrase
    (--wake "hey hark": other speech is ignored), push-to-talk (--push-to-talk).

    \b
    Examples:
      hark listen                                  # default microphone
      hark listen --wake "hey hark"                # a kitchen assistant that waits for its name
      hark listen --push-to-talk
      hark listen --device "USB" --json
      hark listen --wav command.wav
      arecord -q -t raw -f S16_LE -r 16000 -c 1 | hark listen --raw
    """
    from .. import audio
    from ..reload import Reloader

    if sum(bool(x) for x in (wav, raw, device)) > 1:
        raise InputError("give at most one of --wav FILE, --raw, --device NAME")
    if rate != 16000 and not raw:
        raise InputError("--rate applies to --raw input only")
    if ptt and (wav or raw):
        raise InputError("--push-to-talk needs a microphone (it waits for Enter on the keyboard)")
    if wake is not None and not wake.strip():
        raise InputError("--wake: the phrase is empty")
    overrides = {"engine.wake_phrase": wake.strip()} if wake else {}
    config = _config(ctx, **overrides)
    if wav:
        source: Any = audio.WavFile(wav, limits=config.limits)
    elif raw:
        source = audio.RawPCM(sys.stdin.buffer, sample_rate=rate)
    else:
        source = audio.Microphone(device)
    with _engine(ctx, config) as engine:
        if isinstance(source, audio.Microphone):
            source.open()
        if not engine.pm.hook.hark_audio_chunk.get_hookimpls():
            click.echo("hark: warning: no plugin observes audio (is the vad plugin disabled?): nothing will be "
                       "endpointed", err=True)
        if not engine.implements("hark_transcribe"):
            click.echo("hark: note: no ASR plugin is installed: utterances are endpointed, not transcribed "
                       "(each ends as out_of_scope)", err=True)
        if isinstance(source, audio.Microphone):
            mode = "push-to-talk: press Enter, then speak" if ptt else \
                f"say {engine.config.engine.wake_phrase!r} first" if engine.config.engine.wake_phrase else \
                "always listening"
            click.echo(f"hark: listening on {source.description}, {mode} (Ctrl-C to stop)", err=True)
        gate = _PushToTalk() if ptt else None
        utterances, clock, interrupted, speaking = 0, 0.0, False, False
        reloader = Reloader(engine, lambda: _engine(ctx, _config(ctx, **overrides)),
                            lambda message: click.echo(f"hark: {message}", err=True)) if reload and not wav else None
        reloaded: list[Any] = []  # engines built by reloads (the first one closes with the `with`)
        scene_shown: dict[str, Any] = {}  # the last scene line, so a line appears only when the room changes

        def show(events: list[Any]) -> None:
            nonlocal utterances, clock, speaking
            for event in events:
                speaking = event.kind == "speech_start" or (speaking and event.kind != "speech_end")
                if event.kind in ("speech_start", "speech_end"):
                    clock = float(event.data.get("start" if event.kind == "speech_start" else "end", clock))
                if gate and event.kind == "speech_end":
                    gate.release()
                utterances += event.kind == "speech_end"
                if as_json:
                    click.echo(_dump(_event_json(event), False))
                else:
                    line = _scene_line(event, scene_shown) if event.kind in ("scene", "alert") else \
                        _event_line(event, clock)
                    if line:
                        click.echo(line)
            sys.stdout.flush()

        stream = engine.open_stream()
        try:
            show(stream.start_events)
            for chunk in source:
                if gate is None or gate.armed:
                    show(stream.feed(chunk))
                elif gate.took_audio():  # push-to-talk released: what was said so far is the utterance
                    show(stream.flush())
                fresh = reloader.poll() if reloader is not None and not speaking else None
                if fresh is not None:  # between utterances: the next one is heard with the edited skills
                    show(stream.close())
                    reloaded.append(fresh)
                    stream = fresh.open_stream()
                    show(stream.start_events)
            show(stream.close())
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stream.close(flush=False)  # after Ctrl-C: release, without transcribing half a command
            source.close()
            for extra in reloaded:
                extra.close()
    overflows = getattr(source, "overflows", 0)
    click.echo(f"hark: {'stopped' if interrupted else 'done'}: {utterances} utterance(s)"
               + (f", {overflows} input overflow(s)" if isinstance(source, audio.Microphone) else ""), err=True)


class _PushToTalk:
    """Microphone frames count only between a press of Enter and the end of the next utterance; the rest are read
    and dropped (so the input buffer never overflows)."""

    def __init__(self) -> None:
        import threading

        self._armed = threading.Event()
        self._fed = False
        threading.Thread(target=self._keys, daemon=True).start()
        click.echo("hark: press Enter to talk", err=True)

    def _keys(self) -> None:
        for _line in sys.stdin:
            self._armed.set()
            click.echo("hark: talk now", err=True)

    @property
    def armed(self) -> bool:
        if self._armed.is_set():
            self._fed = True
            return True
        return False

    def took_audio(self) -> bool:
        """True once after a stretch of armed audio (the stream should flush it)."""
        fed, self._fed = self._fed, False
        return fed

    def release(self) -> None:
        self._armed.clear()
        click.echo("hark: press Enter to talk", err=True)


@cli.command()
@click.argument("wav", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="The n-best list as JSON.")
@click.pass_context
@_user_errors
def transcribe(ctx: click.Context, wav: str, as_json: bool) -> None:
    """Transcribe a WAV file (any rate or channels) as one utterance and print the n-best list.

    \b
    Uses the installed ASR plugin (asr_pocketsphinx: a language model compiled from
    your skills, so it transcribes what the skills understand best). No VAD and no
    intent parsing: `hark listen --wav FILE` does the whole pipeline.

    \b
    Examples:
      hark transcribe command.wav
      hark transcribe --json command.wav | jq '.hypotheses[0].text'
    """
    import time as _time

    from .. import audio
    from ..types import AudioChunk

    config = _config(ctx)
    pcm = audio.read_wav(wav, limits=config.limits, utterance=True)  # the header is checked before reading
    if len(pcm) == 0:
        raise InputError(f"{wav}: holds no audio")
    with _engine(ctx, config) as engine:
        if not engine.implements("hark_transcribe"):
            raise click.ClickException("no ASR plugin is installed or enabled (see `hark plugins`)")
        errors: list = []
        t0 = _time.perf_counter()
        nbest = engine.transcribe(AudioChunk(pcm.tobytes(), audio.SAMPLE_RATE), sink=errors)
        seconds = _time.perf_counter() - t0
    for event in errors:
        click.echo(f"hark: {event.data.get('plugin')} failed: {event.data.get('message')}", err=True)
    if nbest is None:
        raise click.ClickException(f"{wav}: nothing was transcribed")
    if as_json:
        click.echo(_dump(nbest.to_dict(), True))
        return
    for i, h in enumerate(nbest.hypotheses, 1):
        click.echo(f"{i}. {h.text}  ({h.score:.2f})")
    click.echo(f"hark: {len(pcm) / audio.SAMPLE_RATE:.2f} s of audio in {seconds:.2f} s ({nbest.source})", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_user_errors
def devices(as_json: bool) -> None:
    """List audio input devices (index, name, host API, channels, default rate) for `hark listen --device`."""
    from ..audio import list_devices

    found = list_devices()
    if as_json:
        click.echo(_dump(found, True))
        return
    if not found:
        click.echo("no audio input devices found")
        return
    for d in found:
        mark = "*" if d["default"] else " "
        click.echo(f"{mark} [{d['index']}] {d['name']}  ({d['hostapi']}, {d['channels']} ch, "
                   f"{d['default_samplerate']:.0f} Hz)")


def _demo_audio(engine: Any, folder: Path) -> None:
    """The bundled recordings through the whole audio path (VAD -> ASR -> intent -> action), like `hark listen`."""
    from ..audio import WavFile

    wavs = sorted(folder.glob("*.wav"))
    if not wavs:
        return
    if not engine.implements("hark_transcribe"):
        click.secho("\n== audio: skipped (no ASR plugin enabled; see `hark plugins`)", fg="yellow")
        return
    for wav in wavs:
        click.secho(f"\n== audio: {wav.relative_to(project_root())}  (hark listen --wav {wav.name})", bold=True)
        clock, scene_shown = 0.0, {}
        for event in engine.stream(WavFile(wav)):
            if event.kind in ("speech_start", "speech_end"):
                clock = float(event.data.get("start" if event.kind == "speech_start" else "end", clock))
            line = _scene_line(event, scene_shown) if event.kind in ("scene", "alert") else _event_line(event, clock)
            if line:
                click.echo("  " + line)


#: plugins `hark scene` leaves out: it listens to sounds, not to requests
_NOT_FOR_SCENES = ("vad", "asr_pocketsphinx", "intent", "entity_resolver")


def _scene_line(event: Any, last: dict[str, Any]) -> str | None:
    """A readable line for `hark scene`: an alert always, a scene update when the room or its sounds change."""
    d = event.data
    if event.kind == "alert":
        return f"[{d.get('time', 0):7.2f}s] " + click.style(f"ALERT {d.get('label')}", fg="red", bold=True) + \
            f" (score {d.get('score', 0):.2f}, in the {d.get('scene')})"
    sounds = ", ".join(f"{label} {p:.2f}" for label, p in d.get("events") or [])
    key = {"scene": d.get("scene"), "sounds": [label for label, _ in d.get("events") or []]}
    if key == last:
        return None
    last.clear()
    last.update(key)
    return f"[{d.get('timestamp', 0):7.2f}s] scene: {d.get('scene')} ({d.get('confidence', 0):.2f})" + \
        (f"  sounds: {sounds}" if sounds else "")


@cli.command()
@click.argument("wav", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON event per line: every scene update (about once a second) and every alert.")
@click.pass_context
@_user_errors
def scene(ctx: click.Context, wav: str, as_json: bool) -> None:
    """Hear what goes on in a WAV file (any rate or channels): the room, its sounds, safety alerts.

    \b
    The scene_context plugin hears each second of audio: which of 50 sounds (ESC-50's classes) are there, which
    of 8 household scenes it sounds like (kitchen, living_room, bathroom, bedroom, office, street, garden,
    party), and alerts for glass breaking, a siren, a dog, a crying baby, a knock at the door or an alarm clock.
    Without --json a line is printed when the scene or its sounds change, and for every alert.
    No speech recognition runs (`hark listen --wav FILE` hears requests and scenes together).

    \b
    Examples:
      hark scene kitchen.wav
      hark scene --json party.wav | jq -c 'select(.kind == "alert") | .data'
    """
    import dataclasses

    from ..audio import WavFile

    config = _config(ctx)
    if "scene_context" in config.plugins.disabled or (config.plugins.enabled is not None
                                                      and "scene_context" not in config.plugins.enabled):
        raise click.ClickException("the scene_context plugin is disabled in your config (see `hark plugins`)")
    from hark.plugins.scene_context import DEFAULT_ALERTS

    settings = dict(config.plugins.settings)
    own = dict(settings.get("scene_context") or {})
    if not own.get("alerts"):  # a report, not a device: show the alerts nothing acts on
        own["alerts"] = list(DEFAULT_ALERTS)
    settings["scene_context"] = {**own, "scene_events": "every"}  # a timeline
    plugins = dataclasses.replace(config.plugins, disabled=tuple(config.plugins.disabled) + _NOT_FOR_SCENES,
                                  settings=settings)
    source = WavFile(wav, limits=config.limits)  # a bad file fails here, before the engine starts
    with _engine(ctx, dataclasses.replace(config, plugins=plugins)) as engine:
        tracker_plugin = engine.pm.get_plugin("scene_context")
        if tracker_plugin is None or getattr(tracker_plugin, "model", None) is None:
            raise click.ClickException(f"the scene_context plugin has no model: "
                                       f"{getattr(tracker_plugin, 'status', 'not loaded')}")
        last: dict[str, Any] = {}
        shown = 0
        for event in engine.stream(source):
            if event.kind == "error":
                click.echo(f"hark: {event.data.get('plugin', '')} failed: {event.data.get('message')}", err=True)
            if event.kind not in ("scene", "alert"):
                continue
            shown += 1
            line = _dump(_event_json(event), False) if as_json else _scene_line(event, last)
            if line:
                click.echo(line)
    if not shown:
        click.echo(f"hark: {wav}: {source.duration:.2f} s of audio, too short for a scene (1 s at least)", err=True)
