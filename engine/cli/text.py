"""`hark parse`, `hark stream` and `hark resolve`: typed text and n-best lists in, JSON out."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable

import click
from ..errors import InputError
from . import _config, _dump, _engine, _user_errors, cli



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
    from .. import limits

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
        from ..types import NBest

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
    from ..runtime import read_jsonl

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
