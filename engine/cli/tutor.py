"""``hark tutor``: say a prompt (or give a WAV of it) and get a per-word, per-phone pronunciation report."""
from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from ..errors import InputError
from . import _config, _dump, _engine, _user_errors, cli

#: plugins `hark tutor` leaves out: it assesses one attempt, it does not hear requests or rooms
_NOT_FOR_TUTOR = ("asr_pocketsphinx", "intent", "entity_resolver", "scene_context")


def _report_lines(report: dict[str, Any]) -> list[str]:
    """The report for a terminal: the score, one line per word (wrong phones marked), then the advice."""
    lines = [f"{report['expected']!r}: score {report['score']:.2f}"]
    for word in report["words"]:
        marks = []
        for phone in word["phones"]:
            if phone["verdict"] == "ok":
                marks.append(phone["expected"])
            elif phone["verdict"] == "deletion":
                marks.append(click.style(f"({phone['expected']} missing)", fg="red"))
            else:
                marks.append(click.style(f"{phone['expected']}->{phone['heard']}", fg="red"))
        flag = click.style("ok", fg="green") if word.get("ok", True) else click.style("check", fg="red", bold=True)
        lines.append(f"  {word['word']:<16} {word['score']:.2f}  {flag:<5}  {' '.join(marks)}")
    lines += [f"  - {tip}" for tip in report["feedback"]]
    return lines


@cli.command()
@click.option("--text", "-t", required=True, help="What the learner means to say (a word or a sentence).")
@click.option("--wav", type=click.Path(dir_okay=False), metavar="FILE",
              help="Assess this recording (any WAV: rate, channels and sample format are converted) instead of "
                   "listening to the microphone.")
@click.option("--device", help="Microphone (index or part of its name; see `hark devices`).")
@click.option("--json", "as_json", is_flag=True, help="Print the PronunciationReport as one JSON object.")
@click.pass_context
@_user_errors
def tutor(ctx: click.Context, text: str, wav: str | None, device: str | None, as_json: bool) -> None:
    """Pronunciation practice: which words and sounds of TEXT were said wrong, and what was said instead.

    \b
    The tutor plugin's phone recognizer hears each expected sound (CMUdict, or hark's g2p for new words) and
    scores it from 0 to 1; a sound another one explains better is reported as that substitution ("in 'think'
    you said S instead of TH"), one that is not there as missing. Without --wav it listens to the microphone
    for one attempt (the vad plugin ends it when you stop speaking).

    \b
    Examples:
      hark tutor --text "thorough"                       # say it into the microphone
      hark tutor --text "I think so" --wav attempt.wav
      hark tutor --text "three trees" --wav attempt.wav --json | jq '.words[] | select(.ok | not)'
    """
    from .. import audio
    from ..types import AudioChunk

    if not text.strip():
        raise InputError("--text is empty: give the word or sentence to practise")
    if wav and device:
        raise InputError("give --wav FILE or --device NAME, not both")
    config = _config(ctx)
    if "tutor" in config.plugins.disabled or (config.plugins.enabled is not None
                                              and "tutor" not in config.plugins.enabled):
        raise click.ClickException("the tutor plugin is disabled in your config (see `hark plugins`)")
    plugins = dataclasses.replace(config.plugins, disabled=tuple(config.plugins.disabled) + _NOT_FOR_TUTOR)
    source: Any = audio.WavFile(wav, limits=config.limits) if wav else None  # a bad file fails before the engine
    with _engine(ctx, dataclasses.replace(config, plugins=plugins)) as engine:
        plugin = engine.pm.get_plugin("tutor")
        if plugin is None or getattr(plugin, "assessor", None) is None:
            raise click.ClickException(f"the tutor plugin has no model: {getattr(plugin, 'status', 'not loaded')}")
        plugin.assessor.canonical(text)  # an unusable prompt fails before anyone speaks
        if source is not None:
            samples = b"".join(chunk.samples for chunk in source)
            if not samples:
                raise InputError(f"{wav}: the file holds no audio")
            problems: list[Any] = []
            report = engine.assess_pronunciation(AudioChunk(samples), text, sink=problems)
            for event in problems:
                click.echo(f"hark: {event.data.get('plugin', '')} failed: {event.data.get('message')}", err=True)
        else:
            report = _from_microphone(engine, audio.Microphone(device), text)
    if report is None:
        raise click.ClickException("no plugin could assess the attempt (see `hark plugins`)")
    if as_json:
        click.echo(_dump(report.to_dict(), False))
    else:
        click.echo("\n".join(_report_lines(report.to_dict())))


def _from_microphone(engine: Any, mic: Any, text: str) -> Any:
    """One attempt from the microphone: a stream in practice mode until its first pronunciation event."""
    from ..types import PronunciationReport

    mic.open()
    click.echo(f"hark: say {text!r} now (listening on {mic.description}; Ctrl-C to stop)", err=True)
    stream = engine.open_stream(expected_text=text)
    try:
        for chunk in mic:
            for event in stream.feed(chunk):
                if event.kind == "error":
                    click.echo(f"hark: {event.data.get('plugin', '')} failed: {event.data.get('message')}",
                               err=True)
                if event.kind == "pronunciation":
                    return PronunciationReport.from_dict(event.data)
    except KeyboardInterrupt:
        click.echo("hark: stopped before an attempt was heard", err=True)
        sys.exit(130)
    finally:
        mic.close()
        stream.close()
    return None
