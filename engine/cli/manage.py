"""`hark skills`, `hark plugins`, `hark doctor`, `hark demo` and `hark train`: what is installed, and building it."""
from __future__ import annotations

import json
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from ..config import data_dir, load_config, project_root
from ..errors import HarkError, InputError
from ..skills import describe_skill
from . import _config, _dump, _engine, _user_errors, cli

from .listening import _demo_audio, _not_a_request


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verbose", "-v", is_flag=True, help="Show examples and slot types.")
@click.pass_context
@_user_errors
def skills(ctx: click.Context, as_json: bool, verbose: bool) -> None:
    """List the installed skills, their intents and slots; warn about sentences two intents claim."""
    with _engine(ctx) as engine:
        _warn_collisions(engine.skills)
        rows = [describe_skill(skill) for skill in engine.skills]
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
    from ..collisions import find_collisions

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
    from ..plugin_manager import build_plugin_manager

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
        from ..runtime import Engine

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
    from ..runtime import read_jsonl

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
@click.option("--bits", type=click.Choice(["8", "4", "3", "2"]), default="8", show_default=True,
              help="Weight bits of the shipped model: 8 (int8), or 4/3/2 after squashed quantisation-aware "
                   "fine-tuning (smaller files; docs/decisions.md 41).")
@click.pass_context
@_user_errors
def train(ctx: click.Context, full: bool, out: Path | None, epochs: int, per_intent: int, layers: str,
          threads: int, bits: str) -> None:
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
      hark train --full --bits 3
    """
    import time as _time

    from ..runtime import Engine

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
    if bits != "8":
        cmd = [sys.executable, "-m", "training.train_lowbit", "--dataset", "skills", "--config", str(cfg_path),
               "--build", str(build), "--per-intent", str(per_intent), "--bits", bits, "--mode", "squash",
               "--threads", str(threads), "--ship", str(out)]
        click.echo(f"{bits}-bit weights: " + " ".join(cmd[1:]), err=True)
        code = subprocess.call(cmd, cwd=root)
        if code != 0:
            raise click.ClickException(f"{bits}-bit fine-tuning failed (exit status {code}); the int8 model stays "
                                       f"in {out}")
    click.echo(f"model written to {out}; `hark doctor` shows it loaded")
