"""Skill developers' loop: ``hark new-skill NAME`` writes a working skill folder, ``hark test-skill DIR`` checks
that every example and test sentence parses to its intent and slots, and names the skills it collides with."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from ..config import load_config
from ..errors import InputError
from . import _dump, _user_errors, cli

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

SKILL_YAML = """\
name: {name}
version: 1
description: "{title}: add things, clear the list. One line; `hark skills` shows it."

# Slots: the values a sentence carries. A catalog slot matches names from a CSV (misheard ones too, by sound);
# a list slot takes a few fixed values with synonyms; built-in types: number, duration, datetime, percentage, text.
slots:
  item:
    type: catalog
    file: catalogs/items.csv
    column: name
    id: id
    aliases: aliases
    description: a thing this skill knows by name
  amount:
    type: number
    description: how many

# Intents: what a user can ask. Examples are templates: (a|b) alternatives, (x)? optional words,
# [value](slot) a slot with an example value, {{slot}} a slot without one. tests: are held-out sentences that
# no matcher is built from: `hark test-skill` checks them (intent, and slot values when given).
intents:
  Add{camel}:
    description: Add something to the {name} list.
    examples:
      - (add|put) [milk](item) (on|to) (the|my)? {name} list
      - (add|put) [two](amount) [eggs](item) (on|to) (the|my)? {name} list
      - (i need|we need) [bread](item)
    action:
      name: {name}.add
      params: {{item: $item, item_id: $item.entity_id, amount: $amount}}
    response:
      - "Added {{amount}} {{item}}."
      - "Added {{item}}."
    tests:
      - {{text: "please add bread to my {name} list", slots: {{item: bread}}}}
      - {{text: "put three apples on the {name} list", slots: {{item: apples, amount: 3}}}}

  Clear{camel}:
    description: Empty the {name} list.
    examples:
      - (clear|empty|delete) (the|my)? {name} list
    action:
      name: {name}.clear
    response:
      - "The {name} list is empty."
    tests:
      - "clear my {name} list"
"""

CATALOG = """\
id,name,aliases
item-1,milk,
item-2,eggs,egg
item-3,bread,loaf of bread
item-4,apples,apple
"""

TEST_FILE = '''\
"""Runs with `python -m pytest {folder}` or `hark test-skill {folder}`: every example and test sentence of the
{name} skill must parse to its intent and slots, with every other installed skill competing for them."""
from pathlib import Path

from hark.config import load_config
from hark.runtime import Engine
from hark.skillcheck import check_skill

HERE = Path(__file__).resolve().parent


def test_{name}_skill_understands_its_sentences():
    config = load_config()
    paths = [str(p) for p in config.skill_paths() if p.resolve() != HERE.parent.resolve()] + [str(HERE)]
    with Engine(load_config(**{{"skills.paths": paths}})) as engine:
        report = check_skill(engine, "{name}")
    assert not report.failures, "\\n".join(f"{{c.text!r}}: {{c.problem}}" for c in report.failures)
'''


@cli.command("new-skill")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to create the skill in (default: the first of skills.paths, e.g. ./skills).")
@click.pass_context
@_user_errors
def new_skill(ctx: click.Context, name: str, parent: Path | None) -> None:
    """Create a working skill folder NAME/ to edit: skill.yaml (two intents, a catalog slot, a number slot,
    responses, held-out tests), catalogs/items.csv and test_NAME.py.

    \b
    Then:
      hark test-skill skills/NAME          # every example and test parses?
      hark parse "add milk to the NAME list"
      hark train                           # the trained tier learns the new skill (templates work at once)
    """
    if not _NAME.match(name):
        raise InputError(f"skill name {name!r}: use 2-40 lowercase letters, digits and _ , starting with a letter")
    parent = parent or load_config(ctx.obj["config"]).skill_paths()[0]
    folder = parent / name
    if folder.exists():
        raise InputError(f"{folder} already exists: pick another name or delete it")
    camel = "".join(part.capitalize() for part in name.split("_"))
    (folder / "catalogs").mkdir(parents=True)
    (folder / "skill.yaml").write_text(SKILL_YAML.format(name=name, camel=camel,
                                                         title=name.replace("_", " ").capitalize() + " list"))
    (folder / "catalogs" / "items.csv").write_text(CATALOG)
    (folder / f"test_{name}.py").write_text(TEST_FILE.format(name=name, folder=folder))
    click.echo(f"created {folder}/: skill.yaml, catalogs/items.csv, test_{name}.py")
    click.echo(f"next: edit skill.yaml, then `hark test-skill {folder}`")


@cli.command("test-skill")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--per-intent", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Sentences walked from each intent's example templates.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.pass_context
@_user_errors
def test_skill(ctx: click.Context, folder: Path, per_intent: int, as_json: bool) -> None:
    """Check a skill folder: its tests: sentences must parse to their intent and slot values, and sentences
    walked from its examples to their intent and slots, with every installed skill competing. Sentences taken
    by another skill are listed as confusions. Exit status 1 when any sentence fails.

    \b
    Example:
      hark test-skill skills/timer
    """
    from ..runtime import Engine
    from ..skillcheck import check_skill
    import yaml

    if not (folder / "skill.yaml").is_file():
        raise InputError(f"{folder} has no skill.yaml (a skill folder holds one; `hark new-skill NAME` makes one)")
    try:
        data = yaml.safe_load((folder / "skill.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{folder / 'skill.yaml'}: not valid YAML: {exc}") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise InputError(f"{folder / 'skill.yaml'}: no 'name:' at the top")
    config = load_config(ctx.obj["config"])
    inside = any(folder.resolve().parent == p.resolve() or folder.resolve() == p.resolve()
                 for p in config.skill_paths())
    if not inside:
        paths = [str(p) for p in config.skill_paths()] + [str(folder.resolve())]
        config = load_config(ctx.obj["config"], **{"skills.paths": paths})
    with Engine(config) as engine:
        report = check_skill(engine, name, per_intent=per_intent)
    if as_json:
        click.echo(_dump(report.to_dict(), True))
    else:
        _print(report)
    sys.exit(1 if report.failures else 0)


def _print(report) -> None:
    tests = [c for c in report.cases if c.kind == "test"]
    examples = [c for c in report.cases if c.kind == "example"]
    for label, cases in (("tests", tests), ("example sentences", examples)):
        ok = sum(c.ok for c in cases)
        color = "green" if ok == len(cases) else "red"
        click.echo(f"{report.skill}: {label}: " + click.style(f"{ok}/{len(cases)} passed", fg=color))
    for case in report.failures:
        click.echo(f"  FAIL [{case.kind}] {case.text!r}: {case.problem}")
    if report.confusions:
        click.echo("confused with other skills: " + ", ".join(f"{k} ({n})" for k, n in report.confusions.items()))
    if report.failures:
        click.echo("hint: new sentences work in the templates tier at once; run `hark train` so the trained tier "
                   "learns them too")
