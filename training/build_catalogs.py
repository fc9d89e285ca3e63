#!/usr/bin/env python3
"""Regenerate the data-derived catalogs of the bundled skills from the public data sets.

    python training/build_catalogs.py                      # --data $HARK_DATA or ../shared/data, --out skills
    python training/build_catalogs.py --data /path/to/data --out skills

Writes (deterministically: same input, byte-identical output):

* skills/music/catalogs/{artists,songs,albums,playlists,genres}.csv from ``catalogs/snips_music_entities.csv``
  (SNIPS 2017-06 train split, CC0 1.0) plus small hand-written supplements of well-known names (facts, written
  by the hark team) so that everyday requests ("play the beatles", "play some hip hop") resolve too. Every row
  says where it came from in its ``source`` column (snips, hark or snips+hark), so a benchmark can restrict the
  catalog to the SNIPS-derived part.
* skills/audiobooks/catalogs/{books,authors}.csv from ``catalogs/books.csv`` (goodbooks-10k, CC BY-SA 4.0):
  the 2000 most popular books (book_id order) after dropping box sets, movie companions and duplicate titles.

Only the standard library is used, and nothing from the engine, so the script runs anywhere.
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------------ text helpers

_TOKEN_RE = re.compile(r"\d+(?:[.:]\d+)*%?|[^\W_]+(?:'[^\W_]+)*|%")


def norm(text: str) -> str:
    """The engine's normalisation (hark.text.normalize): lower-case word tokens joined by one space."""
    folded = unicodedata.normalize("NFKC", text).translate(str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"}))
    return " ".join(_TOKEN_RE.findall(folded.lower()))


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fix_mojibake(text: str) -> str:
    """'EspaÃ±a' -> 'España' (UTF-8 bytes once decoded as Latin-1/CP1252 in the source files)."""
    if not re.search(r"[\u00c2-\u00c3\u00e2][\u0080-\u00bf\u2000-\u20ff\u0152-\u0178]", text):
        return text
    for codec in ("latin-1", "cp1252"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        return fixed
    return text


def spoken_variants(name: str) -> list[str]:
    """Other ways an ASR transcript may write ``name``: without accents, '&' / '+' / '/' said as 'and'."""
    out: list[str] = []
    for v in (strip_accents(name), name.replace("&", " and ").replace(" + ", " and ")):
        v = re.sub(r"\s+", " ", v).strip()
        if norm(v) != norm(name) and v not in out:
            out.append(v)
    both = re.sub(r"\s+", " ", strip_accents(name).replace("&", " and ").replace(" + ", " and ")).strip()
    if norm(both) != norm(name) and all(norm(both) != norm(v) for v in out):
        out.append(both)
    return out


def is_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all("LATIN" in unicodedata.name(c, "") for c in letters)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")


# ------------------------------------------------------------------------------------------------------- music

#: SNIPS values that are generic words (they would fire on ordinary speech: "play something new", "repeat") or
#: are not names of the type at all, compared after normalisation
MUSIC_JUNK = {
    "artist": {
        "classified", "proof", "september", "wise", "choice", "curse", "device", "distance", "double", "flame",
        "flex", "hide", "skin", "snow", "wax", "whip", "torch", "apathy", "nigga", "ski", "kk", "pmd", "heath",
        "kansas city missouri", "k j yesudas discography", "maestro", "subliminal", "harris", "lawrence", "houston",
    },
    "track": {
        "always", "every", "full", "repeat", "rain", "tomorrow", "wow", "wanted", "stereo", "divine", "bald",
        "cabbage", "vegetables", "halloween", "lighter", "gangsta", "vodka", "domino", "crucifixion", "eternally",
        "wolves", "faget", "unravel", "my friend", "on my own", "in heaven", "making out", "real talk", "adieu",
    },
    "album": {
        "allergic", "bath", "beautiful", "brotherhood", "foundling", "gloryhole", "handover", "innovations",
        "lodge", "neutrons", "plays", "pledge", "ready", "realization", "sauna", "seaside", "slut", "jungle",
        "live collection", "magic time",
    },
    "playlist": {"new", "tracks", "night", "evening", "pop", "punk", "jazz", "rock", "metal", "funk", "country",
                 "dance", "chill", "party", "relaxing"},
    "genre": {"game", "space", "dream", "terror", "revival", "crossover", "native us", "primus", "negerpunk",
              "psychadelic", "sonata", "bass", "noise", "retro", "humour", "satire", "fast fusion", "freestyle",
              "gangsta", "hardcore"},
}

#: well-known artists (facts, written by the hark team); snips values with the same name are merged
EXTRA_ARTISTS = """
ABBA|AC/DC=AC DC;ACDC|Adele|Aerosmith|Alicia Keys|Amy Winehouse|Andrea Bocelli|Aretha Franklin|Ariana Grande|
Arctic Monkeys|Avicii|Backstreet Boys|Bad Bunny|Bee Gees|Beyoncé|Billie Eilish|Billy Joel|Black Sabbath|
Blackpink|Blur|Bob Dylan|Bob Marley|Bon Jovi|Bruce Springsteen|Bruno Mars|BTS|Calvin Harris|Cardi B|
Carole King|Celine Dion|Charlie Puth|Cher|Coldplay|Daddy Yankee|Daft Punk|David Bowie|David Guetta|
Depeche Mode|Destiny's Child|Dire Straits|Doja Cat|Dolly Parton|Dr. Dre=Doctor Dre|Drake|Dua Lipa|Eagles=The Eagles|
Earth, Wind & Fire|Ed Sheeran|Elton John|Elvis Presley=Elvis|Eminem|Enya|Fleetwood Mac|Florence + the Machine|
Foo Fighters|Frank Sinatra|Frank Ocean|Genesis|Gloria Estefan|Gorillaz|Green Day|Guns N' Roses=Guns and Roses|
Harry Styles|Hozier|Imagine Dragons|Iron Maiden|J Balvin|Jack Johnson|James Brown|Janis Joplin|Jay-Z=Jay Z|
Jennifer Lopez=J Lo|Jimi Hendrix|John Coltrane|John Legend|John Lennon|John Mayer|Johnny Cash|Joni Mitchell|
Journey|Justin Bieber|Justin Timberlake|Kanye West|Karol G|Katy Perry|Kendrick Lamar|Kylie Minogue|Lady Gaga|
Lana Del Rey|Led Zeppelin|Lenny Kravitz|Linkin Park|Lizzo|Lorde|Louis Armstrong|Ludovico Einaudi|Luis Fonsi|
Madonna|Marc Anthony|Mariah Carey|Maroon 5|Marvin Gaye|Metallica|Michael Bublé|Michael Jackson|Miles Davis|
Miley Cyrus|Muse|Neil Young|Nicki Minaj|Nina Simone|Nirvana|Norah Jones|Oasis|Olivia Rodrigo|One Direction|
OutKast|Ozzy Osbourne|Paul McCartney|Pearl Jam|Phil Collins|Pink Floyd|Post Malone|Prince|Queen|Radiohead|
Ray Charles|Red Hot Chili Peppers|R.E.M.=REM|Rihanna|Ricky Martin|Rosalía|Sam Smith|Santana|Selena Gomez|
Shakira|Shawn Mendes|Simon & Garfunkel|Snoop Dogg|Spice Girls|Stevie Wonder|Sting|SZA|Taylor Swift|
Tame Impala|The Beach Boys|The Beatles|The Chainsmokers|The Clash|The Cure|The Doors|The Killers|The Police|
The Rolling Stones=Rolling Stones|The Smiths|The Strokes|The Weeknd|The White Stripes|The Who|Tina Turner|
Tracy Chapman|Travis Scott|Tupac Shakur=Tupac;2Pac|U2|Usher|Van Halen|Whitney Houston|Willie Nelson|
Ludwig van Beethoven=Beethoven|Wolfgang Amadeus Mozart=Mozart|Johann Sebastian Bach=Bach|Frédéric Chopin=Chopin|
Antonio Vivaldi=Vivaldi|Pyotr Ilyich Tchaikovsky=Tchaikovsky|Hans Zimmer|John Williams|Ennio Morricone|
Édith Piaf=Edith Piaf|Stromae|Måneskin=Maneskin|Mumford & Sons|The Lumineers|Vampire Weekend|Kings of Leon|
Ella Fitzgerald|Frank Zappa|Eric Clapton|Elvis Costello|Sade|Toto|Kiss|Deep Purple|The Notorious B.I.G.=Biggie Smalls;Notorious BIG
"""

#: well-known songs: title|artist (facts, written by the hark team)
EXTRA_SONGS = """
Bohemian Rhapsody|Queen
Hey Jude|The Beatles
Let It Be|The Beatles
Yesterday|The Beatles
Here Comes the Sun|The Beatles
Imagine|John Lennon
Billie Jean|Michael Jackson
Thriller|Michael Jackson
Like a Rolling Stone|Bob Dylan
Smells Like Teen Spirit|Nirvana
Hotel California|Eagles
Stairway to Heaven|Led Zeppelin
Sweet Child o' Mine|Guns N' Roses
Wonderwall|Oasis
Purple Rain|Prince
Respect|Aretha Franklin
What's Going On|Marvin Gaye
Superstition|Stevie Wonder
Dancing Queen|ABBA
Take On Me|a-ha
Africa|Toto
Don't Stop Believin'|Journey
Livin' on a Prayer|Bon Jovi
Born to Run|Bruce Springsteen
Heroes|David Bowie
Space Oddity|David Bowie
Rocket Man|Elton John
Your Song|Elton John
Piano Man|Billy Joel
I Will Always Love You|Whitney Houston
Hallelujah|Leonard Cohen
Wish You Were Here|Pink Floyd
Comfortably Numb|Pink Floyd
Creep|Radiohead
Viva la Vida|Coldplay
Yellow|Coldplay
Fix You|Coldplay
Mr. Brightside|The Killers
Seven Nation Army|The White Stripes
Hey Ya!|OutKast
Crazy in Love|Beyoncé
Single Ladies|Beyoncé
Umbrella|Rihanna
Rolling in the Deep|Adele
Someone Like You|Adele
Hello|Adele
Shape of You|Ed Sheeran
Perfect|Ed Sheeran
Thinking Out Loud|Ed Sheeran
Uptown Funk|Bruno Mars
Happy|Pharrell Williams
Shake It Off|Taylor Swift
Blank Space|Taylor Swift
Anti-Hero|Taylor Swift
Love Story|Taylor Swift
Bad Guy|Billie Eilish
Blinding Lights|The Weeknd
Levitating|Dua Lipa
As It Was|Harry Styles
Drivers License|Olivia Rodrigo
Despacito|Luis Fonsi
Old Town Road|Lil Nas X
Lose Yourself|Eminem
Hotline Bling|Drake
God's Plan|Drake
Poker Face|Lady Gaga
Bad Romance|Lady Gaga
Shallow|Lady Gaga
Halo|Beyoncé
Firework|Katy Perry
Roar|Katy Perry
Toxic|Britney Spears
...Baby One More Time|Britney Spears
Like a Prayer|Madonna
Material Girl|Madonna
Girls Just Want to Have Fun|Cyndi Lauper
Sweet Caroline|Neil Diamond
Jolene|Dolly Parton
Ring of Fire|Johnny Cash
Take Me Home, Country Roads|John Denver
Country Roads|John Denver
Three Little Birds|Bob Marley
One Love|Bob Marley
Redemption Song|Bob Marley
What a Wonderful World|Louis Armstrong
Fly Me to the Moon|Frank Sinatra
My Way|Frank Sinatra
Feeling Good|Nina Simone
Back to Black|Amy Winehouse
Valerie|Amy Winehouse
Rehab|Amy Winehouse
Clair de Lune|Claude Debussy
Für Elise|Ludwig van Beethoven
Moonlight Sonata|Ludwig van Beethoven
The Four Seasons|Antonio Vivaldi
Canon in D|Johann Pachelbel
All I Want for Christmas Is You|Mariah Carey
Last Christmas|Wham!
Happy Birthday to You|Traditional
Twinkle Twinkle Little Star|Traditional
Wheels on the Bus|Traditional
Baby Shark|Pinkfong
Let It Go|Idina Menzel
We Will Rock You|Queen
We Are the Champions|Queen
Don't Stop Me Now|Queen
Another One Bites the Dust|Queen
Under Pressure|Queen
Highway to Hell|AC/DC
Back in Black|AC/DC
Enter Sandman|Metallica
Nothing Else Matters|Metallica
Paint It Black|The Rolling Stones
Satisfaction|The Rolling Stones
Johnny B. Goode|Chuck Berry
Jailhouse Rock|Elvis Presley
Can't Help Falling in Love|Elvis Presley
Stand by Me|Ben E. King
Lean on Me|Bill Withers
Ain't No Sunshine|Bill Withers
Dreams|Fleetwood Mac
Go Your Own Way|Fleetwood Mac
Everybody Hurts|R.E.M.
Losing My Religion|R.E.M.
Zombie|The Cranberries
Torn|Natalie Imbruglia
Wannabe|Spice Girls
I Want It That Way|Backstreet Boys
Believer|Imagine Dragons
Radioactive|Imagine Dragons
Counting Stars|OneRepublic
Someone You Loved|Lewis Capaldi
Stay With Me|Sam Smith
Riptide|Vance Joy
Take Me to Church|Hozier
Dynamite|BTS
Gangnam Style|PSY
La Bamba|Ritchie Valens
Hips Don't Lie|Shakira
Waka Waka|Shakira
Wake Me Up|Avicii
Titanium|David Guetta
Get Lucky|Daft Punk
One More Time|Daft Punk
Sandstorm|Darude
"""

EXTRA_ALBUMS = """
Thriller|Michael Jackson
Abbey Road|The Beatles
Sgt. Pepper's Lonely Hearts Club Band|The Beatles
The White Album|The Beatles
The Dark Side of the Moon|Pink Floyd
The Wall|Pink Floyd
Rumours|Fleetwood Mac
Back in Black|AC/DC
Nevermind|Nirvana
OK Computer|Radiohead
Led Zeppelin IV|Led Zeppelin
Born in the U.S.A.|Bruce Springsteen
Purple Rain|Prince
Hotel California|Eagles
A Night at the Opera|Queen
Kind of Blue|Miles Davis
A Love Supreme|John Coltrane
Blue|Joni Mitchell
Pet Sounds|The Beach Boys
What's Going On|Marvin Gaye
Songs in the Key of Life|Stevie Wonder
Bad|Michael Jackson
The Joshua Tree|U2
Appetite for Destruction|Guns N' Roses
The Marshall Mathers LP|Eminem
To Pimp a Butterfly|Kendrick Lamar
Lemonade|Beyoncé
21|Adele
25|Adele
1989|Taylor Swift
Folklore|Taylor Swift
Midnights|Taylor Swift
Divide|Ed Sheeran
After Hours|The Weeknd
Future Nostalgia|Dua Lipa
Random Access Memories|Daft Punk
Back to Black|Amy Winehouse
Graceland|Paul Simon
Tapestry|Carole King
Parachutes|Coldplay
A Rush of Blood to the Head|Coldplay
Master of Puppets|Metallica
The Miseducation of Lauryn Hill|Lauryn Hill
When We All Fall Asleep, Where Do We Go?|Billie Eilish
Sour|Olivia Rodrigo
Harry's House|Harry Styles
"""

EXTRA_PLAYLISTS = """
Discover Weekly|Release Radar|Today's Top Hits|Liked Songs=my liked songs;my favorites;my favourites;favorites|
Daily Mix|Top 50 Global|Chill Vibes|Peaceful Piano|Deep Focus|Songs to Sing in the Car|Mood Booster|
Christmas Hits|Sleep Sounds|Morning Coffee|Dinner Party|Workout Mix
"""

#: common genres a listener asks for (hark team), with spoken variants
EXTRA_GENRES = """
hip hop=hip-hop;hiphop|rap|rock|pop|jazz|blues|country|metal|heavy metal|hard rock|soft rock|indie rock|
alternative rock|punk rock|classical=classical music|reggae|reggaeton|disco|funk|soul|gospel|r&b=rnb;r and b;
rhythm and blues|electronic=electronic music;electronica|edm=electronic dance music|dubstep|house|techno|trance|
drum & bass|ambient|lo-fi=lofi;lo fi|lo-fi hip hop=lofi hip hop|folk|bluegrass|k-pop=kpop|j-pop=jpop|latin|
salsa|bossa nova|flamenco|afrobeats=afrobeat|ska|emo|grunge|motown|swing|big band|new wave|synthwave|
christmas music=christmas songs;christmas|children's music=kids music;kids songs;children's songs|
lullabies=lullaby|piano=piano music|acoustic|instrumental|easy listening|soundtrack=soundtracks;movie soundtracks|
opera|chanson|oldies|60s=sixties|70s=seventies|80s=eighties|90s=nineties|2000s=noughties|
meditation music=meditation|relaxing music=relaxation music|workout music=gym music
"""

MUSIC_KINDS = {  # snips entity type -> (file, id prefix)
    "artist": ("artists.csv", "art"),
    "track": ("songs.csv", "song"),
    "album": ("albums.csv", "alb"),
    "playlist": ("playlists.csv", "pl"),
    "genre": ("genres.csv", "gen"),
}


def _parse_named(block: str, sep: str = "|") -> list[tuple[str, list[str], str]]:
    """'Name=alias;alias|Name|...' or one 'Name|extra' per line -> [(name, aliases, extra)]."""
    out = []
    if "\n" in block.strip() and sep == "\n":
        for line in block.strip().splitlines():
            name, _, extra = line.partition("|")
            out.append((name.strip(), [], extra.strip()))
        return out
    for item in re.sub(r"\s*\n\s*", "", block).split("|"):
        item = item.strip()
        if not item:
            continue
        name, _, aliases = item.partition("=")
        out.append((name.strip(), [a.strip() for a in aliases.split(";") if a.strip()], ""))
    return out


def build_music(data: Path, out: Path) -> dict[str, int]:
    src = data / "catalogs" / "snips_music_entities.csv"
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    extras = {
        "artist": _parse_named(EXTRA_ARTISTS),
        "track": _parse_named(EXTRA_SONGS, "\n"),
        "album": _parse_named(EXTRA_ALBUMS, "\n"),
        "playlist": _parse_named(EXTRA_PLAYLISTS),
        "genre": _parse_named(EXTRA_GENRES),
    }
    sizes = {}
    for kind, (fname, prefix) in MUSIC_KINDS.items():
        # group case/accent/mojibake variants of one value
        groups: dict[str, dict] = {}
        for r in rows:
            if r["entity_type"] != kind:
                continue
            value = re.sub(r"\s+", " ", fix_mojibake(r["value"])).strip()
            key = norm(strip_accents(value))
            if not key or key in MUSIC_JUNK[kind]:
                continue
            g = groups.setdefault(key, {"variants": defaultdict(int), "count": 0, "aliases": [], "extra": "",
                                        "source": "snips"})
            count = int(r["count_in_snips_train"] or 0)
            g["variants"][value] += count
            g["count"] += count
        for name, aliases, extra in extras[kind]:
            key = norm(strip_accents(name))
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"variants": defaultdict(int), "count": 0, "aliases": [], "extra": "",
                                   "source": "hark"}
                g["variants"][name] = 0
            else:
                g["source"] = "snips+hark"
                g["variants"][name] += 0
                g["preferred"] = name  # the hand-written spelling has the canonical casing
            g["aliases"].extend(aliases)
            g["extra"] = g["extra"] or extra
        entries = []
        for key, g in groups.items():
            variants = g["variants"]
            # display form: the hand-written one, else the most frequent variant, preferring one with capitals
            name = g.get("preferred") or sorted(
                variants, key=lambda v: (-variants[v], v == v.lower(), v))[0]
            aliases: list[str] = []
            for a in [*g["aliases"], *(v for v in sorted(variants) if v != name)]:
                for form in (a, *spoken_variants(a)):
                    if norm(form) != norm(name) and all(norm(form) != norm(x) for x in aliases):
                        aliases.append(form)
            for form in spoken_variants(name):
                if all(norm(form) != norm(x) for x in aliases):
                    aliases.append(form)
            # weight: count in the SNIPS train split; hand-added well-known names get a prior of 5
            weight = max(g["count"], 5 if g["source"] != "snips" else 0)
            entries.append((name, aliases, weight, g["extra"], g["source"]))
        entries.sort(key=lambda e: (-e[2], norm(strip_accents(e[0])), e[0]))
        header = ["id", "name", "aliases", "weight", "source"]
        if kind in ("track", "album"):
            header.insert(3, "artist")
        table = []
        for i, (name, aliases, weight, extra, source) in enumerate(entries, 1):
            row = [f"{prefix}-{i:04d}", name, "|".join(aliases), weight, source]
            if kind in ("track", "album"):
                row.insert(3, extra)
            table.append(row)
        write_csv(out / "music" / "catalogs" / fname, header, table)
        sizes[fname] = len(table)
    return sizes


# -------------------------------------------------------------------------------------------------- audiobooks

N_BOOKS = 2000
_SERIES_RE = re.compile(r"\s*\((?:[^()]*#\s*[\d.]+(?:\s*[-;,+][^()]*)?|[^()]*(?:Universe|Golden Book|PostSecret|"
                        r"All Creatures Great and Small|Penguin Readers[^()]*))\)\s*$")
_SKIP_RE = re.compile(r"box ?set|boxed set|boxset|movie companion|complete collection|two-book set|"
                      r"\bcollection \(|4-book|tribute guide|graphic novel", re.I)
#: original titles that must never be used (offensive historical title) or belong to another book in the data
_BAD_ORIGINALS = {"ten little niggers", "a grief observed", "an itchy day", "the borrowers afield",
                  "lover enshrined part two", "lover avenged part one", "mad about madeline",
                  "greg heffley's journal", "men are from mars women are from venus book of days 365 inspirations "
                  "to enrich your relationships"}
#: a few well-known alternative titles with no word in common with the Goodreads one (book_id -> aliases)
EXTRA_BOOK_ALIASES = {
    13: ["Nineteen Eighty-Four", "Nineteen Eighty Four"],
    62: ["Northern Lights"],
    672: ["Murder in the Calais Coach"],
    1356: ["The Painted Man"],
    1361: ["The Shifting Fog"],
    1468: ["Where Rainbows End"],
    414: ["The Other Hand"],
}
_STOP = {"the", "a", "an", "of", "and", "or", "in", "on", "to", "for", "with", "at", "by", "from", "is", "de",
         "la", "le", "el"}


def _clean_title(title: str) -> str:
    title = re.sub(r"\s+", " ", title).strip()
    prev = None
    while prev != title:
        prev, title = title, _SERIES_RE.sub("", title).strip()
    return title


def _content_words(text: str) -> set[str]:
    return {w for w in norm(strip_accents(text)).split() if w not in _STOP}


def _sane_original(original: str, clean: str) -> bool:
    if not original or not is_latin(original) or norm(original) in _BAD_ORIGINALS:
        return False
    o, c = _content_words(original), _content_words(clean)
    if not o or not c:
        return False
    overlap = len(o & c) / min(len(o), len(c))
    # the same book in the same language (not a translation), and not a much longer subtitle form
    return overlap >= 0.5 and len(norm(original).split()) <= len(norm(clean).split()) + 3


def _short_title(title: str) -> str | None:
    """'Freakonomics: A Rogue Economist...' -> 'Freakonomics'; 'Slaughterhouse-Five, or The...' -> ..."""
    for sep in (":", ";", ", or ", " or, ", " - "):
        if sep in title:
            head = title.split(sep)[0].strip(" ,.")
            if head and len(norm(head)) >= 4:
                return head
    return None


def _author_aliases(name: str) -> list[str]:
    out = []
    # "J.K. Rowling" -> "JK Rowling"; "George R.R. Martin" -> "George RR Martin"
    joined = re.sub(r"\b((?:[A-Z]\.){2,})", lambda m: m.group(1).replace(".", ""), name)
    if joined != name:
        out.append(re.sub(r"\s+", " ", joined))
    parts = name.replace(".", ". ").split()
    # drop middle initials and Jr.: "Stephen R. Covey" -> "Stephen Covey", "Kurt Vonnegut Jr." -> "Kurt Vonnegut"
    core = [p for i, p in enumerate(parts) if not (0 < i < len(parts) - 1 and re.fullmatch(r"[A-Z]\.", p))]
    if core and core[-1].rstrip(".").lower() in ("jr", "sr"):
        core = core[:-1]
    if len(core) >= 2 and core != parts and re.search(r"[a-z]{2}", core[0]):
        out.append(" ".join(core).rstrip(","))
    if name.startswith("Dr. "):
        out.append("Doctor " + name[4:])
    out.extend(spoken_variants(name))
    uniq: list[str] = []
    for a in out:
        if norm(a) != norm(name) and all(norm(a) != norm(u) for u in uniq):
            uniq.append(a)
    return uniq


def build_audiobooks(data: Path, out: Path) -> dict[str, int]:
    src = data / "catalogs" / "books.csv"
    with open(src, newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["book_id"]))
    candidates = []  # (row, full title, Goodreads title without series, original title, first author)
    for r in rows:
        gr_title = re.sub(r"\s+", " ", r["title"]).strip()
        if _SKIP_RE.search(gr_title):
            continue
        clean = _clean_title(gr_title)
        original = _clean_title(re.sub(r"\s+", " ", r["original_title"]).strip().replace("\u2019", "'"))
        full = original if _sane_original(original, clean) else clean
        author = re.sub(r"\s+", " ", r["authors"].split(",")[0]).strip()
        candidates.append((r, full, clean, original, author))
        if len(candidates) >= N_BOOKS + 200:
            break
    # "Batman: Year One", "Batman: The Killing Joke": a main title shared by several books is not shortened
    main_count: dict[str, int] = defaultdict(int)
    for _, full, *_ in candidates:
        main_count[norm(_short_title(full) or full)] += 1
    owner: dict[str, str] = {}  # normalised name or alias -> first author of the more popular book using it
    books = []
    skipped: list[str] = []
    for r, full, clean, original, author in candidates:
        if len(books) >= N_BOOKS:
            break
        # the main title is what people say: "Quiet", not "Quiet: The Power of Introverts in a World..."
        short = _short_title(full)
        name = short if short and main_count[norm(short)] == 1 and norm(short) not in owner else full
        if not norm(name) or owner.get(norm(name)) == author:
            skipped.append(r["title"])
            continue  # another edition of a book already listed ("'Salem's Lot", "Alice's Adventures...")
        forms = [full, clean]
        if original and is_latin(original) and norm(original) not in _BAD_ORIGINALS \
                and _content_words(original) & _content_words(clean):
            forms.append(original)
        forms.extend(EXTRA_BOOK_ALIASES.get(int(r["book_id"]), []))
        for f in list(forms):
            s = _short_title(f)
            if s and main_count[norm(s)] <= 1:
                forms.append(s)
        aliases: list[str] = []
        for f in forms:
            for v in (f, *spoken_variants(f)):
                n = norm(v)
                if n and n != norm(name) and n not in owner and all(n != norm(a) for a in aliases):
                    aliases.append(v)
        for n in (norm(name), *(norm(a) for a in aliases)):
            owner.setdefault(n, author)
        books.append({"rank": len(books) + 1, "book_id": int(r["book_id"]), "title": name, "aliases": aliases,
                      "author": author})
    if os.environ.get("HARK_VERBOSE"):
        print("skipped as duplicates:", *skipped, sep="\n  ")
    book_rows = []
    author_weight: dict[str, float] = defaultdict(float)
    author_first: dict[str, int] = {}
    for b in books:
        # popularity prior from the rank: 1 + ln(N / rank), i.e. 8.6 for the most rated book down to 1.0
        weight = round(1.0 + math.log(N_BOOKS / b["rank"]), 3)
        book_rows.append([f"book-{b['rank']:04d}", b["title"], b["author"], "|".join(b["aliases"]), weight,
                          b["book_id"]])
        if b["author"].lower() not in ("anonymous", "unknown"):
            author_weight[b["author"]] += weight
            author_first.setdefault(b["author"], b["rank"])
    write_csv(out / "audiobooks" / "catalogs" / "books.csv",
              ["id", "title", "author", "aliases", "weight", "goodbooks_id"], book_rows)
    authors = sorted(author_weight, key=lambda a: (-round(author_weight[a], 3), author_first[a]))
    author_rows = [[f"auth-{i:04d}", a, "|".join(_author_aliases(a)), round(author_weight[a], 3)]
                   for i, a in enumerate(authors, 1)]
    write_csv(out / "audiobooks" / "catalogs" / "authors.csv", ["id", "name", "aliases", "weight"], author_rows)
    return {"books.csv": len(book_rows), "authors.csv": len(author_rows)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = os.environ.get("HARK_DATA") or str(REPO.parent / "shared" / "data")
    ap.add_argument("--data", type=Path, default=Path(default_data),
                    help="public data sets folder (default: $HARK_DATA or ../shared/data from the repo root)")
    ap.add_argument("--out", type=Path, default=REPO / "skills", help="skills folder to write into (default: skills)")
    ap.add_argument("--only", choices=["music", "audiobooks"], help="build one skill's catalogs only")
    args = ap.parse_args(argv)
    if not (args.data / "catalogs").is_dir():
        print(f"error: no catalogs/ folder under {args.data} (set --data or HARK_DATA)", file=sys.stderr)
        return 2
    if args.only in (None, "music"):
        build_music(args.data, args.out)
    if args.only in (None, "audiobooks"):
        build_audiobooks(args.data, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
