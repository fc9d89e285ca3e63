"""The ``hark`` command: a thin layer over ``hark.Engine``. User errors print one line and exit 1."""
from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import click

from .config import data_dir, load_config, project_root
from .errors import HarkError, InputError

__all__ = ["main", "cli"]


def _config(ctx: click.Context, **overrides: Any):
    """The config of this command; plugin names in plugins.enabled/disabled must be installed ones."""
    from .config import check_plugin_names

    config = load_config(ctx.obj["config"], **overrides)
    check_plugin_names(config)
    return config


def _engine(ctx: click.Context, config: Any = None, **overrides: Any):
    from .runtime import Engine

    return Engine(config or _config(ctx, **overrides))


def _user_errors(fn: Callable) -> Callable:
    """Turn HarkError (and unreadable input files) into a one-line ClickException."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HarkError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            raise
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"cannot read input: {exc}") from None

    return wrapper


def _dump(obj: Any, pretty: bool) -> str:
    return json.dumps(obj, indent=2 if pretty else None, ensure_ascii=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="HARK_CONFIG",
              help="config.yaml to use (default: $HARK_CONFIG, else the project's config.yaml).")
@click.version_option(package_name="hark-nlu", prog_name="hark")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """hark: offline voice-assistant NLU. Text, ASR n-best lists or audio in; skill actions out (JSON).

    \b
    Try:
      hark parse "set a timer for ten minutes"
      echo '[{"text": "turn of the kitchen lights", "score": 0.6},
             {"text": "turn off the kitchen lights", "score": 0.4}]' | hark parse --nbest -
      hark skills
      hark demo
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    _setup_logging()


def _setup_logging() -> None:
    """Plugin failures and warnings go to stderr as one line each, prefixed so they stand apart from JSON output."""
    import logging

    logger = logging.getLogger("hark")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("hark: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if os.environ.get("HARK_DEBUG") else logging.WARNING)
        logger.propagate = False


@cli.command()
@click.argument("text", required=False)
@click.option("--nbest", "nbest_file", type=click.File("r"),
              help='Read an ASR n-best list (JSON: [{"text": ..., "score": ...}, ...]) from FILE, or - for stdin.')
@click.option("--now", help="Clock for relative times, ISO 8601 (e.g. 2026-11-24T21:00:00+01:00).")
@click.option("--pretty/--compact", default=True, show_default=True, help="Indent the JSON.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), help="Override engine.min_confidence.")
@click.pass_context
@_user_errors
def parse(ctx: click.Context, text: str | None, nbest_file: Any, now: str | None, pretty: bool,
          min_confidence: float | None) -> None:
    """Interpret TEXT (or an n-best list) and print the skill action as one JSON object.

    \b
    Fields: text, out_of_scope, skill, intent, confidence, action {name, params, response},
    slots [{name, raw, value, entity_id, confidence, start, end, type}], alternatives, errors.
    Out-of-scope input is not an error: exit status 0, "out_of_scope": true, "action": null.

    \b
    Examples:
      hark parse "turn off the kitchen lights"
      hark parse --now 2026-11-24T21:00:00+01:00 "wake me up tomorrow at 7 am"
      hark parse --nbest hypotheses.json
    """
    from . import limits

    if (text is None) == (nbest_file is None):
        raise InputError("give either TEXT or --nbest FILE (see: hark parse --help)")
    overrides = {"engine.min_confidence": min_confidence} if min_confidence is not None else {}
    config = _config(ctx, **overrides)
    if nbest_file is not None:  # bounded before decoding: size, then nesting depth
        raw = limits.check_json_depth(limits.read_bounded(nbest_file, config.limits, "--nbest"), config.limits,
                                      "--nbest")
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"--nbest: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
        if isinstance(data, dict) and "nbest" in data:
            data = data["nbest"]
        if not isinstance(data, list):
            raise InputError('--nbest: expected a JSON list like [{"text": "...", "score": 0.7}]')
        from .types import NBest

        item: Any = NBest.from_scores(data)
    else:
        item = text
    with _engine(ctx, config) as engine:
        context = engine.context(now=now) if now else None
        result = engine.parse(item, context)
    click.echo(_dump(result.to_dict(), pretty))


@cli.command()
@click.argument("input", type=click.File("r"), default="-")
@click.option("--now", help="Clock for relative times, ISO 8601.")
@click.pass_context
@_user_errors
def stream(ctx: click.Context, input: Any, now: str | None) -> None:
    """Read JSON lines from INPUT (default stdin), write one JSON event per line.

    \b
    Each input line is one utterance, either plain text or JSON:
      {"text": "pause the music"}
      {"nbest": [{"text": "...", "score": 0.6}, ...]}
      {"text": "...", "context": {"now": "2026-11-24T21:00:00+01:00", "device_id": "kitchen"}}
    Events: utterance, interpretation, action, out_of_scope, confirm, cancelled, error. The stream is
    one conversation: a "yes" line answers the confirm asked just before. A bad line gives an
    error event naming the line and the stream goes on.
    """
    from .runtime import read_jsonl

    config = _config(ctx)

    def items() -> Iterable[Any]:
        for item in read_jsonl(input, config.limits):  # a bounded line at a time
            if now and isinstance(item, (str, list)):
                item = {"nbest": item} if isinstance(item, list) else {"text": item}
            if now and isinstance(item, dict) and "context" not in item:
                item = {**item, "context": {"now": now}}
            yield item

    with _engine(ctx, config) as engine:
        for event in engine.stream(items()):
            click.echo(_dump(event.to_dict(), False))
            sys.stdout.flush()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verbose", "-v", is_flag=True, help="Show examples and slot types.")
@click.pass_context
@_user_errors
def skills(ctx: click.Context, as_json: bool, verbose: bool) -> None:
    """List the installed skills, their intents and slots; warn about sentences two intents claim."""
    with _engine(ctx) as engine:
        _warn_collisions(engine.skills)
        rows = []
        for skill in engine.skills:
            rows.append({
                "name": skill.name, "description": skill.description, "path": str(skill.path),
                "handler": str(skill.handler) if skill.handler else None,
                "intents": [{"name": i.name, "action": i.action.name if i.action else None,
                             "examples": list(i.examples), "tests": len(i.tests)} for i in skill.intents],
                "slots": {n: {"type": s.type, "size": len(s.catalog) if s.catalog else len(s.values)}
                          for n, s in skill.slots.items()},
            })
    if as_json:
        click.echo(_dump(rows, True))
        return
    for row in rows:
        click.secho(f"{row['name']}", bold=True, nl=False)
        click.echo(f"  {row['description']}" + ("  [handler.py]" if row["handler"] else ""))
        for intent in row["intents"]:
            click.echo(f"  {intent['name']:<20} -> {intent['action']}")
            if verbose:
                for ex in intent["examples"]:
                    click.echo(f"      {ex}")
        slots = ", ".join(f"{n}:{s['type']}" + (f"({s['size']})" if s["size"] else "")
                          for n, s in row["slots"].items())
        if slots:
            click.echo(f"  slots: {slots}")


def _warn_collisions(skills: Any, shown: int = 10) -> None:
    """One stderr line per pair of intents that claim the same sentence (engine/collisions.py), at most ``shown``."""
    from .collisions import find_collisions

    found = find_collisions(skills)
    for collision in found[:shown]:
        click.echo(f"hark: warning: {collision.message()}", err=True)
    if len(found) > shown:
        click.echo(f"hark: warning: ... and {len(found) - shown} more pairs of intents that share sentences", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@_user_errors
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List plugins (built-in and third-party, entry-point group "hark"): status, version, hooks.

    Works even when a skill fails to load, so it can help find out why.
    """
    from .plugin_manager import build_plugin_manager

    try:
        with _engine(ctx) as engine:  # adds skill handlers and reports plugins whose start-up failed
            infos = [i.to_dict() for i in engine.plugin_info]
            for event in engine.startup_events:
                for info in infos:
                    if info["name"] == event.data.get("plugin") and info["status"] == "loaded":
                        info["error"] = f"{event.data.get('hook')}: {event.data.get('message')}"
    except HarkError as exc:  # e.g. a skill does not load: list the plugins alone, loaded only in this case
        click.echo(f"hark: warning: the engine did not start ({exc}); showing plugins only", err=True)
        infos = [i.to_dict() for i in build_plugin_manager(load_config(ctx.obj["config"]))[1]]
    if as_json:
        click.echo(_dump(infos, True))
        return
    for info in infos:
        color = {"loaded": "green", "disabled": "yellow", "failed": "red"}.get(info["status"])
        origin = "built-in" if info["builtin"] else (info["distribution"] or info["target"])
        click.echo(f"{info['name']:<22} " + click.style(f"{info['status']:<9}", fg=color)
                   + f" {origin} {info['version']}")
        if info["hooks"]:
            click.echo(f"{'':<22} hooks: {', '.join(info['hooks'])}")
        if info["error"]:
            click.echo(f"{'':<22} error: {info['error']}")


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the installation: Python packages, system libraries, config, skills, plugins, data."""
    problems = 0

    def report(ok: bool | None, what: str, detail: str = "") -> None:
        nonlocal problems
        mark = {True: click.style("ok  ", fg="green"), False: click.style("FAIL", fg="red"),
                None: click.style("warn", fg="yellow")}[ok]
        problems += ok is False
        click.echo(f"[{mark}] {what}" + (f": {detail}" if detail else ""))

    report(sys.version_info >= (3, 10), "python", f"{platform.python_version()} ({sys.executable})")
    for module in ("pluggy", "yaml", "numpy", "click", "rapidfuzz", "onnxruntime", "sentencepiece", "faiss"):
        try:
            mod = __import__(module)
            report(True, module, getattr(mod, "__version__", ""))
        except Exception as exc:  # noqa: BLE001 - the point is to report any import failure
            report(False, module, f"{type(exc).__name__}: {exc}")
    try:
        import sounddevice

        report(True, "sounddevice/PortAudio", sounddevice.get_portaudio_version()[1])
    except Exception as exc:  # noqa: BLE001
        report(None, "sounddevice/PortAudio", f"{exc} (microphone input unavailable; apt-get install libportaudio2)")
    report(True if shutil.which("espeak-ng") else None, "espeak-ng",
           shutil.which("espeak-ng") or "not found (needed only to synthesize test speech)")
    try:
        config = _config(ctx)
        report(True, "config", str(config.path or "built-in defaults"))
    except HarkError as exc:
        report(False, "config", str(exc))
        sys.exit(1)
    try:
        from .runtime import Engine

        with Engine(config) as engine:
            report(True, "skills", f"{len(engine.skills)} loaded: {', '.join(s.name for s in engine.skills)}")
            for info in engine.plugin_info:
                if info.status == "failed":
                    report(False, f"plugin {info.name}", info.error)
            loaded = [i.name for i in engine.plugin_info if i.status == "loaded"]
            report(True, "plugins", ", ".join(loaded))
            for name in loaded:  # plugins with models say what they loaded (or why they are idle)
                status = getattr(engine.pm.get_plugin(name), "status", None)
                if isinstance(status, str):
                    report(None if status.startswith("idle") else True, f"plugin {name}", status)
            for event in engine.startup_events:
                if event.data.get("hook") != "load":
                    report(False, f"plugin {event.data.get('plugin')}", event.data.get("message", ""))
    except HarkError as exc:
        report(False, "engine", str(exc))
    data = data_dir()
    report(True if data.is_dir() else None, "data sets (HARK_DATA)",
           str(data) if data.is_dir() else f"{data} not found (only training and benchmarks need it)")
    click.echo("all good" if not problems else f"{problems} problem(s)")
    sys.exit(1 if problems else 0)


@cli.command()
@click.option("--now", default="2026-11-24T18:30:00+00:00", show_default=True,
              help="Clock for the demo's relative times.")
@click.pass_context
@_user_errors
def demo(ctx: click.Context, now: str) -> None:
    """Run the bundled examples: typed text and ASR n-best lists (examples/demo/*.jsonl), then recorded
    commands (examples/demo/audio/*.wav) through VAD, offline ASR and intent parsing -> actions."""
    from .runtime import read_jsonl

    folder = project_root() / "examples" / "demo"
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise click.ClickException(f"no demo inputs found in {folder}")
    with _engine(ctx) as engine:
        talk = engine.conversation()  # one conversation: a "yes" answers the question asked just before
        for file in files:
            click.secho(f"\n== {file.name}", bold=True)
            for item in read_jsonl(file.read_text(encoding="utf-8").splitlines()):
                if isinstance(item, InputError):
                    click.secho(f"  bad line: {item}", fg="red")
                    continue
                label = item.get("label") if isinstance(item, dict) else None
                payload = {k: v for k, v in item.items() if k != "label"} if isinstance(item, dict) else item
                result = talk.parse(payload, engine.context(now=now))
                heard = " | ".join(f"{h.text} ({h.score:.2f})" for h in result.nbest.hypotheses) \
                    if len(result.nbest.hypotheses) > 1 else result.nbest.best.text
                click.echo(f"> {heard}" + (f"    [{label}]" if label else ""))
                if result.action is None:
                    click.secho("  " + _no_action(result), fg="yellow")
                    continue
                a = result.action
                params = json.dumps(dict(a.params), ensure_ascii=False)
                click.echo("  " + click.style(f"{a.name}", fg="green") + f" {params}  conf={a.confidence:.2f}"
                           + (f"  via hypothesis #{result.best.hypothesis_index + 1}"
                              if result.best and result.best.hypothesis_index else ""))
                if a.response:
                    click.echo(f"  says: {a.response}")
        _demo_audio(engine, folder / "audio")


def _not_a_request(data: dict) -> str:
    """"negated", or "negated, would have been home.UnlockDoor" when a reading was sure enough to act."""
    first = data["not_a_request"][0]
    sure = first["confidence"] >= data.get("min_confidence", 0.5)
    return first["form"] + (f", would have been {first['skill']}.{first['intent']}" if sure else "")


def _no_action(result: Any) -> str:
    """One line for a result without an action: a question to confirm, a cancellation or out of scope (why)."""
    if result.confirm is not None:
        return f"asks: {result.confirm.prompt}  (no action until a yes)"
    if result.cancelled:
        return "cancelled: no action"
    for event in result.events:
        if event.kind == "out_of_scope" and event.data.get("not_a_request"):
            return f"not a request ({_not_a_request(event.data)}): no action"
    return "out of scope (no action)"


def _demo_audio(engine: Any, folder: Path) -> None:
    """The bundled recordings through the whole audio path (VAD -> ASR -> intent -> action), like `hark listen`."""
    from .audio import WavFile

    wavs = sorted(folder.glob("*.wav"))
    if not wavs:
        return
    if not engine.pm.hook.hark_transcribe.get_hookimpls():
        click.secho("\n== audio: skipped (no ASR plugin enabled; see `hark plugins`)", fg="yellow")
        return
    for wav in wavs:
        click.secho(f"\n== audio: {wav.relative_to(project_root())}  (hark listen --wav {wav.name})", bold=True)
        clock = 0.0
        for event in engine.stream(WavFile(wav)):
            if event.kind in ("speech_start", "speech_end"):
                clock = float(event.data.get("start" if event.kind == "speech_start" else "end", clock))
            line = _event_line(event, clock)
            if line:
                click.echo("  " + line)


def _event_json(event: Any) -> dict[str, Any]:
    """An event as JSON for ``listen --json``: utterance audio replaced by its duration in seconds."""
    d = event.to_dict()
    data = d.get("data") or {}
    if isinstance(data.get("audio"), str):
        import base64

        data = dict(data)
        samples = len(base64.b64decode(data.pop("audio"))) // 2
        data["audio_seconds"] = round(samples / int(data.get("sample_rate") or 16000), 3)
        d["data"] = data
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
@click.pass_context
@_user_errors
def listen(ctx: click.Context, wav: str | None, raw: bool, rate: int, device: str | None, as_json: bool,
           wake: str | None, ptt: bool) -> None:
    """Listen to a microphone (or --wav FILE, or --raw PCM on stdin) and print events as they happen.

    \b
    Events: speech started/ended (the vad plugin), what was heard (the n-best list of an ASR plugin), the
    interpretation, the action, out_of_scope, errors. Without an ASR plugin, utterances are still endpointed
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
    from . import audio

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
        if not engine.pm.hook.hark_transcribe.get_hookimpls():
            click.echo("hark: note: no ASR plugin is installed: utterances are endpointed, not transcribed "
                       "(each ends as out_of_scope)", err=True)
        if isinstance(source, audio.Microphone):
            mode = "push-to-talk: press Enter, then speak" if ptt else \
                f"say {engine.config.engine.wake_phrase!r} first" if engine.config.engine.wake_phrase else \
                "always listening"
            click.echo(f"hark: listening on {source.description}, {mode} (Ctrl-C to stop)", err=True)
        gate = _PushToTalk() if ptt else None
        frames: Any = gate.frames(source) if gate else iter(source)
        utterances, clock, interrupted = 0, 0.0, False
        try:
            for event in engine.stream(frames):
                if event.kind in ("speech_start", "speech_end"):
                    clock = float(event.data.get("start" if event.kind == "speech_start" else "end", clock))
                if gate and event.kind == "speech_end":
                    gate.release()
                utterances += event.kind == "speech_end"
                if as_json:
                    click.echo(_dump(_event_json(event), False))
                else:
                    line = _event_line(event, clock)
                    if line:
                        click.echo(line)
                sys.stdout.flush()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            source.close()
    overflows = getattr(source, "overflows", 0)
    click.echo(f"hark: {'stopped' if interrupted else 'done'}: {utterances} utterance(s)"
               + (f", {overflows} input overflow(s)" if isinstance(source, audio.Microphone) else ""), err=True)


def _catalog_values(path: Path, column: str | None) -> list[tuple[str, str]]:
    """``(id, name)`` rows of a catalog: a CSV (``column`` or its first column; an ``id`` column if present) or a
    text file with one name per line."""
    import csv

    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() != ".csv":
        names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return [(str(i), n) for i, n in enumerate(names)]
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise InputError(f"{path}: no rows")
    header = list(rows[0].keys())
    column = column or next((c for c in ("name", "title") if c in header), header[0])
    if column not in header:
        raise InputError(f"{path}: no column {column!r} (columns: {', '.join(header)})")
    return [(str(r.get("id") or i), r[column].strip()) for i, r in enumerate(rows) if (r.get(column) or "").strip()]


@cli.command()
@click.argument("heard")
@click.option("--catalog", "catalog", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Names to resolve against: a CSV (see --column) or a text file with one name per line.")
@click.option("--column", help="CSV column holding the names (default: name, title, or the first column).")
@click.option("--nbest", "alternatives", multiple=True, metavar="TEXT",
              help="Another transcription of the same words (repeatable, best first): n-best augmentation.")
@click.option("-k", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="Matches to show.")
@click.option("--json", "as_json", is_flag=True, help="Matches as JSON.")
@_user_errors
def resolve(heard: str, catalog: Path, column: str | None, alternatives: tuple[str, ...], k: int,
            as_json: bool) -> None:
    """Find what a misheard name was meant to be in a catalog (phonetic + lexical matching).

    \b
    The first run on a catalog builds its index (seconds for 10k names) and caches it
    in $HARK_CACHE/entity_resolver; later runs load it. When nothing sounds close
    enough, it exits 1 and names the closest entries on stderr.

    \b
    Examples:
      hark resolve --catalog skills/video/catalogs/titles.csv "jurassic parking"
      hark resolve --catalog names.txt "jon smyth" --nbest "john smith" --json
    """
    from hark.plugins.entity_resolver import Resolver

    values = _catalog_values(catalog, column)
    try:
        resolver = Resolver.from_values(values, kind=catalog.stem)
        nbest = [(heard, 1.0)] + [(a, 0.5 ** (i + 1)) for i, a in enumerate(alternatives)] if alternatives else None
        matches = resolver.resolve(heard, nbest=nbest, k=k)
    except ValueError as exc:
        raise InputError(f"{catalog}: {exc}") from None
    if as_json:
        click.echo(_dump([m.to_dict() for m in matches], True))
    else:
        for m in matches:
            click.echo(f"{m.score:.3f}  {m.value}  (id {m.id}; phonetic {m.phonetic:.2f}, lexical {m.lexical:.2f})")
    if not matches:
        threshold, resolver.min_score = resolver.min_score, 0.0
        closest = ", ".join(f"{m.value} ({m.score:.2f})" for m in resolver.resolve(heard, nbest=nbest, k=3))
        click.echo(f"no match for {heard!r} in {catalog.name} ({len(values)} names): nothing scores "
                   f"{threshold:.2f} or more" + (f"; closest: {closest}" if closest else ""), err=True)
        sys.exit(1)


class _PushToTalk:
    """Microphone frames pass only between a press of Enter and the end of the next utterance; the rest are read
    and dropped (so the input buffer never overflows)."""

    def __init__(self) -> None:
        import threading

        self._armed = threading.Event()
        threading.Thread(target=self._keys, daemon=True).start()

    def _keys(self) -> None:
        for _line in sys.stdin:
            self._armed.set()
            click.echo("hark: talk now", err=True)

    def release(self) -> None:
        self._armed.clear()
        click.echo("hark: press Enter to talk", err=True)

    def frames(self, source: Any) -> Iterable[Any]:
        import dataclasses

        click.echo("hark: press Enter to talk", err=True)
        index = 0
        for chunk in source:
            if self._armed.is_set():
                yield dataclasses.replace(chunk, index=index)  # index 0 starts a fresh utterance stream
                index += 1
            else:
                index = 0


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

    from . import audio
    from .types import AudioChunk

    config = _config(ctx)
    pcm = audio.read_wav(wav, limits=config.limits, utterance=True)  # the header is checked before reading
    if len(pcm) == 0:
        raise InputError(f"{wav}: holds no audio")
    with _engine(ctx, config) as engine:
        if not engine.pm.hook.hark_transcribe.get_hookimpls():
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
    from .audio import list_devices

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


@cli.command()
@click.option("--full", is_flag=True,
              help="Also train the joint intent + slot model for the installed skills (needs the [train] extra).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (default: plugins.settings.intent.model_dir, else the bundled one).")
@click.option("--epochs", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option("--per-intent", type=click.IntRange(10, 5000), default=300, show_default=True,
              help="Training sentences generated per intent.")
@click.option("--layers", default="0,1,2", show_default=True,
              help="all-MiniLM-L6-v2 layers the model keeps (fewer = smaller and faster, less accurate).")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True)
@click.pass_context
@_user_errors
def train(ctx: click.Context, full: bool, out: Path | None, epochs: int, per_intent: int, layers: str,
          threads: int) -> None:
    """Compile the installed skills; with --full, train the intent model on them.

    \b
    Instant tier (seconds, no torch): loads and validates every skill, compiles the
    templates and reports what the template tier knows, and has every plugin rebuild
    what it derives from the skills (the ASR plugin's skill language model, the entity
    resolver's catalog indexes).
    Full tier (--full, minutes to an hour on a small CPU): generates training sentences
    from the skills (plus out-of-scope negatives from HWU64/SLURP when HARK_DATA has them),
    trains the joint model, exports int8 ONNX and writes it with its model card to the
    model directory, where the `intent` plugin loads it on the next start.

    \b
    Examples:
      hark train
      hark train --full --epochs 2 --layers 0,1
    """
    import time as _time

    from .runtime import Engine

    t0 = _time.perf_counter()
    config = _config(ctx)
    with Engine(config) as engine:
        intents = list(engine.skills.intents())
        templates = sum(len(i.templates) for i in intents)
        catalogs = sum(len(s.catalog) for sk in engine.skills for s in sk.slots.values() if s.catalog)
        held_out = len(engine.skills.tests())
        _warn_collisions(engine.skills)
        click.echo(f"instant tier: {len(engine.skills)} skills, {len(intents)} intents, {templates} templates, "
                   f"{catalogs} catalog entries, {held_out} held-out test sentences "
                   f"({_time.perf_counter() - t0:.1f}s)")
        errors: list = []
        for _plugin, line in engine.call("hark_compile", sink=errors, engine=engine, force=True):
            click.echo(f"compiled: {line}")
        for event in errors:
            click.echo(f"hark: {event.data.get('plugin')} could not compile: {event.data.get('message')}", err=True)
    if not full:
        click.echo("template tier ready; run `hark train --full` to train the intent model")
        return
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("hark train --full needs torch: pip install -e '.[train]' "
                                   "(or `pip install torch==2.13.0` for the CPU build)") from None
    root = project_root()
    if not (root / "training" / "train_joint.py").is_file():
        raise click.ClickException(f"hark train --full runs from a source checkout; {root / 'training'} is missing")
    if out is None:
        from hark.plugins.intent import DEFAULT_MODEL_DIR, IntentSettings

        chosen = config.plugin_settings("intent", IntentSettings).model_dir
        out = config.resolve_path(chosen) if chosen else DEFAULT_MODEL_DIR
    build = root / "build" / "intent-model"
    cfg_path = config.path or (root / "config.yaml")
    cmd = [sys.executable, "-m", "training.train_joint", "--dataset", "skills", "--config", str(cfg_path),
           "--out", str(build), "--ship", str(out), "--epochs", str(epochs), "--per-intent", str(per_intent),
           "--layers", layers, "--threads", str(threads)]
    click.echo("full tier: " + " ".join(cmd[1:]), err=True)
    import subprocess

    code = subprocess.call(cmd, cwd=root)
    if code != 0:
        raise click.ClickException(f"training failed (exit status {code}); the log is above")
    click.echo(f"model written to {out}; `hark doctor` shows it loaded")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: unexpected errors print one line (HARK_DEBUG=1 shows the traceback)."""
    try:
        cli.main(args=argv, prog_name="hark", standalone_mode=True)
    except SystemExit:
        raise
    except BrokenPipeError:  # `hark skills | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last line of defence against tracebacks for users
        if os.environ.get("HARK_DEBUG"):
            raise
        click.echo(f"hark: internal error: {type(exc).__name__}: {exc} (run with HARK_DEBUG=1 for details)",
                   err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
