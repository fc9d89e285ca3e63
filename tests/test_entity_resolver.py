"""The entity resolver: misheard names resolve to catalog entries by sound, n-best lists help, unrelated text finds
nothing, indexes are cached on disk, bad input is named. A small inline catalog; no data set needed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hark.plugins.entity_resolver import Match, Resolver
from hark.plugins.entity_resolver.phonetic import FEATURES, coarse_string, normalize_text, phone_string
from hark.plugins.entity_resolver.index import FLAT_LIMIT
from hark.plugins.entity_resolver.ranker import load_rankers

TITLES = [
    "The Matrix", "Beach Talk", "Jurassic Park", "Star Wars", "The Godfather", "Inception", "Frozen", "Heat",
    "Up", "Cars", "Toy Story", "Finding Nemo", "The Lion King", "Gladiator", "Titanic", "Alien", "Jaws",
    "Rocky", "Casablanca", "Vertigo", "Psycho", "Goodfellas", "Amelie", "Parasite", "Whiplash", "Moonlight",
    "Skyfall", "Interstellar", "The Shining", "Zorbulon Rising",
]


@pytest.fixture(scope="module")
def movies(tmp_path_factory) -> Resolver:
    return Resolver.from_values([(f"m{i}", t) for i, t in enumerate(TITLES)], kind="movie", cache=False)


def top(resolver: Resolver, text: str, **kw) -> str | None:
    found = resolver.resolve(text, **kw)
    return found[0].value if found else None


@pytest.mark.parametrize("heard,title", [
    ("the mattress", "The Matrix"),
    ("bach talk", "Beach Talk"),
    ("beach walk", "Beach Talk"),
    ("beachtalk", "Beach Talk"),
    ("jurassic spark", "Jurassic Park"),
    ("star warts", "Star Wars"),
    ("the god father", "The Godfather"),
    ("in caption", "Inception"),
    ("zorba lawn rising", "Zorbulon Rising"),
    ("the lying king", "The Lion King"),
    ("sky fall", "Skyfall"),
    ("toy stories", "Toy Story"),
])
def test_misheard_titles_resolve_by_sound(movies, heard, title):
    assert top(movies, heard) == title


def test_exact_and_case_insensitive(movies):
    found = movies.resolve("THE MATRIX")
    assert found[0].value == "The Matrix" and found[0].id == "m0"
    assert found[0].score > 0.8 and found[0].phonetic == 1.0 and found[0].lexical == 1.0


def test_match_fields_and_ordering(movies):
    found = movies.resolve("the mattress", k=5)
    assert all(isinstance(m, Match) for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert all(0.0 <= m.score <= 1.0 and 0.0 <= m.phonetic <= 1.0 and 0.0 <= m.lexical <= 1.0 for m in found)
    with pytest.raises(AttributeError):
        found[0].score = 1.0  # frozen
    assert found[0].to_dict()["value"] == "The Matrix"


def test_k_is_respected(movies):
    assert len(movies.resolve("star wars", k=1)) == 1
    assert len(movies.resolve("star wars", k=3)) == 3
    assert len(movies.resolve("star wars", k=100)) == len(TITLES)


def test_nbest_rescues_a_wrong_one_best(movies):
    heard = "amazing"  # the ASR's 1-best; its 2nd guess is the title
    assert top(movies, heard) != "Amelie"
    found = movies.resolve(heard, nbest=[(heard, 0.55), ("amelie", 0.45)])
    assert found[0].value == "Amelie"
    assert found[0].hypothesis == 1  # matched through the alternative
    # log-likelihood scores work the same way
    found = movies.resolve(heard, nbest=[(heard, -120.9), ("amelie", -121.2)])
    assert found[0].value == "Amelie"


def test_nbest_weight_matters(movies):
    """A strong 1-best is not overturned by a weak, equally good alternative."""
    found = movies.resolve("heat", nbest=[("heat", 0.9), ("jaws", 0.1)])
    assert found[0].value == "Heat"


@pytest.mark.parametrize("text", ["what is the weather like tomorrow", "set an alarm for seven",
                                  "turn off the kitchen lights"])
def test_unrelated_text_is_no_match(movies, text):
    assert movies.resolve(text) == []


def test_empty_text_is_no_match(movies):
    assert movies.resolve("") == []
    assert movies.resolve("  ?! ") == []


def test_popularity_breaks_ties():
    resolver = Resolver.from_values([("a", "Heat", 1.0), ("b", "Heat", 50.0)], cache=False)
    found = resolver.resolve("heat", k=2)
    assert [m.id for m in found] == ["b", "a"]


def test_plain_strings_have_no_id():
    resolver = Resolver.from_values(["Alpha Centauri", "Beta Blocker"], cache=False)
    assert resolver.resolve("alpha centauri")[0].id is None


def test_cache_second_build_loads_from_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    words = ["zorp", "quibble", "marsh", "velvet", "nimbus", "gander", "plinth", "orchid", "tundra", "saffron",
             "kestrel", "bramble", "cobalt", "juniper", "lantern", "meadow", "quartz", "russet", "sorrel", "thistle"]
    catalog = [f"{a} {b} {c}" for a in words[:10] for b in words[10:] for c in ("one", "two", "three")]
    first = Resolver.from_values(catalog, kind="test")
    second = Resolver.from_values(catalog, kind="test")
    # whether it was read rather than built is what matters here (timings belong to benchmarks/entity_scale.py,
    # and under load the two raced)
    assert not first.loaded_from_cache and second.loaded_from_cache
    assert second.cache_path == first.cache_path and second.cache_path.is_dir()
    assert top(first, "velvet kestrel two") == top(second, "velvet kestrel two") == "velvet kestrel two"
    # a different catalog gets a different cache entry
    third = Resolver.from_values(catalog[:-1], kind="test")
    assert not third.loaded_from_cache and third.cache_path != first.cache_path


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    first = Resolver.from_values(TITLES)
    (first.cache_path / "phonetic.faiss").write_bytes(b"garbage")
    again = Resolver.from_values(TITLES)
    assert not again.loaded_from_cache
    assert top(again, "the mattress") == "The Matrix"


@pytest.mark.parametrize("values,message", [
    ([], "catalog is empty"),
    (["ok", 42], "entry 1: expected a name"),
    ([("id", 42)], "entry 0: the name must be a string"),
    (["ok", "!!!"], "entry 1: the name '!!!' has no letters or digits"),
    ([("id", "Heat", -1)], "popularity must be a positive number"),
    ("The Matrix", "iterable of names"),
    (None, "iterable of names"),
])
def test_bad_catalog_is_a_clear_value_error(values, message):
    with pytest.raises(ValueError, match=message):
        Resolver.from_values(values, cache=False)


def test_bad_queries_are_clear_value_errors(movies):
    with pytest.raises(ValueError, match="text to resolve must be a string"):
        movies.resolve(123)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        movies.resolve("heat", k=0)
    with pytest.raises(ValueError, match="nbest"):
        movies.resolve("heat", nbest="heat")
    with pytest.raises(ValueError, match="score"):
        movies.resolve("heat", nbest=[("heat", "high")])


def test_bad_options_are_clear_value_errors():
    with pytest.raises(ValueError, match="unknown ranker preset 'fast'"):
        Resolver.from_values(TITLES, weights="fast", cache=False)
    with pytest.raises(ValueError, match="unknown ranker feature 'volume'"):
        Resolver.from_values(TITLES, weights={"volume": 1.0}, cache=False)
    with pytest.raises(ValueError, match="unknown phonetic encoder 'magic'"):
        Resolver.from_values(TITLES, encoder="magic", cache=False)
    with pytest.raises(ValueError, match="min_score"):
        Resolver.from_values(TITLES, min_score=2, cache=False)


@pytest.mark.parametrize("preset", ["phonetic", "lexical", "combined"])
def test_presets_resolve_exact_names(preset):
    resolver = Resolver.from_values(TITLES, weights=preset, cache=False)
    assert top(resolver, "finding nemo") == "Finding Nemo"


def test_weight_overrides():
    resolver = Resolver.from_values(TITLES, weights={"pop_logw": 0.5}, cache=False)
    assert resolver.ranker.weights[FEATURES.index("pop_logw")] == 0.5


def test_ranker_file_is_consistent():
    presets, default, encoder = load_rankers()
    assert default in presets and {"phonetic", "lexical", "combined"} <= set(presets)
    assert encoder in ("hashed", "learned")
    assert FLAT_LIMIT == 2_000


def test_phone_strings():
    assert phone_string(("M", "EY", "T")) and len(phone_string(("M", "EY", "T"))) == 3
    assert coarse_string(phone_string(("P",))) == coarse_string(phone_string(("B",)))
    assert normalize_text("  Amélie!  (2001) ") == "amelie 2001"


def test_large_catalogs_use_product_quantisation(monkeypatch, one_faiss_thread):
    import faiss

    from hark.plugins.entity_resolver import index as module

    monkeypatch.setattr(module, "FLAT_LIMIT", 10)
    big = Resolver.from_values(TITLES, cache=False)
    assert isinstance(big._index.phon, faiss.IndexPQFastScan) and big.index_kind == "pq"
    assert top(big, "the mattress") == "The Matrix"
    small = Resolver.from_values(TITLES[:5], cache=False)
    assert isinstance(small._index.phon, faiss.IndexFlatIP)
    hnsw = Resolver.from_values(TITLES, cache=False, index="hnsw")
    assert isinstance(hnsw._index.phon, faiss.IndexHNSWFlat)
    assert top(hnsw, "the mattress") == "The Matrix"


def test_learned_encoder_missing_is_a_model_error(tmp_path):
    from hark.errors import ModelError
    from hark.plugins.entity_resolver.phonetic_model import LearnedEncoder

    with pytest.raises(ModelError, match="train_phonetic"):
        LearnedEncoder.load(tmp_path)


# ------------------------------------------------------------------------------------------------ hark resolve


def _hark_resolve(*args, cache):
    import os
    import subprocess
    import sys

    env = dict(os.environ, HARK_CACHE=str(cache))
    return subprocess.run([sys.executable, "-m", "hark.cli", "resolve", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_hark_resolve_finds_a_misheard_title_in_a_bundled_catalog(tmp_path):
    catalog = Path(__file__).resolve().parent.parent / "skills" / "video" / "catalogs" / "titles.csv"
    out = _hark_resolve("--catalog", str(catalog), "--json", "-k", "3", "the matrix", cache=tmp_path)
    assert out.returncode == 0, out.stderr
    matches = json.loads(out.stdout)
    assert matches[0]["value"] == "The Matrix" and matches[0]["id"] == "vid-0094" and len(matches) <= 3


def test_hark_resolve_no_match_names_the_closest_and_fails(tmp_path):
    catalog = tmp_path / "rooms.txt"
    catalog.write_text("kitchen\nliving room\nbedroom\n")
    out = _hark_resolve("--catalog", str(catalog), "quantum chromodynamics", cache=tmp_path)
    assert out.returncode == 1 and out.stdout == ""
    assert "no match for 'quantum chromodynamics' in rooms.txt (3 names)" in out.stderr


def test_hark_resolve_bad_catalog_is_one_line(tmp_path):
    catalog = tmp_path / "bad.csv"
    catalog.write_text("id,title\n1,The Matrix\n")
    out = _hark_resolve("--catalog", str(catalog), "--column", "name", "matrix", cache=tmp_path)
    assert out.returncode != 0 and "no column 'name'" in out.stderr and "Traceback" not in out.stderr


def test_names_in_other_scripts_are_kept_for_lexical_matching():
    resolver = Resolver.from_values(["الفيل الأزرق", "The Blue Elephant"], cache=False)
    assert resolver.resolve("الفيل الأزرق", k=1)[0].value == "الفيل الأزرق"


# --------------------------------------------------------------------------------------- large catalogs (issue 6c)

LARGE_WORDS = (["silver", "golden", "hidden", "broken", "quiet", "burning", "frozen", "electric", "midnight", "lonely",
                "secret", "crimson", "hollow", "distant", "savage"],
               ["river", "garden", "kingdom", "harbor", "mountain", "window", "forest", "castle", "island", "shadow",
                "thunder", "lantern", "desert", "canyon", "meadow", "valley", "engine", "mirror", "ocean", "empire"],
               ["", "of dreams", "at dawn", "in winter", "of glass", "returns", "forever", "of fire", "at night",
                "rising"])


@pytest.fixture(scope="module")
def large_catalog() -> list[str]:
    """3,000 distinct names: enough for the compressed index's path, fast to build."""
    first, second, third = LARGE_WORDS
    return [" ".join(w for w in (a, b, c) if w).title() for a in first for b in second for c in third]


@pytest.fixture()
def one_faiss_thread():
    """Quantiser training on one thread: with the CPU shared (CI, other jobs), faiss' OpenMP threads spin and a
    3k-entry build takes 4 s instead of 1."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


@pytest.mark.parametrize("kind,limits", [("pq", {"FLAT_LIMIT": 1000}),
                                         ("ivfpq", {"FLAT_LIMIT": 1000, "IVF_LIMIT": 2000})])
def test_compressed_index_finds_misheard_names(monkeypatch, large_catalog, kind, limits, one_faiss_thread):
    from hark.plugins.entity_resolver import index as module

    for name, value in limits.items():
        monkeypatch.setattr(module, name, value)
    resolver = Resolver.from_values(list(enumerate(large_catalog)), cache=False)
    assert resolver.index_kind == kind and len(resolver) == 3000
    assert top(resolver, "the silver rivers of dreams") == "Silver River Of Dreams"  # a sound-alike swap
    assert top(resolver, "golden window add dawn") == "Golden Window At Dawn"
    assert top(resolver, "crimson kingdom") == "Crimson Kingdom"  # heard exactly
    found = resolver.resolve("midnight harbour in winter", k=3)
    assert found[0].value == "Midnight Harbor In Winter"
    assert found[0].id == large_catalog.index("Midnight Harbor In Winter")


def test_compressed_index_cache_round_trip(tmp_path, monkeypatch, large_catalog, one_faiss_thread):
    from hark.plugins.entity_resolver import index as module

    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(module, "FLAT_LIMIT", 1000)
    first = Resolver.from_values(large_catalog, kind="test")
    second = Resolver.from_values(large_catalog, kind="test")
    assert not first.loaded_from_cache and second.loaded_from_cache and second.index_kind == "pq"
    files = {f.name for f in second.cache_path.iterdir()}
    assert {"meta.json", "strings.npz", "phonetic.faiss"} <= files
    assert "lexical.faiss" not in files  # the default ranker does not search the lexical channel: not built
    for heard in ("hidden forest at dawn", "lonely island rising", "savage canyon of glass"):
        assert first.resolve(heard) == second.resolve(heard)
        assert second.resolve(heard)[0].value.lower() == heard
    # a ranker that searches the lexical channel adds it to the same folder, then reads it from there
    combined = Resolver.from_values(large_catalog, kind="test", weights="combined")
    assert not combined.loaded_from_cache and (combined.cache_path / "lexical.faiss").is_file()
    again = Resolver.from_values(large_catalog, kind="test", weights="combined")
    assert again.loaded_from_cache and again.cache_path == first.cache_path
    assert top(again, "quiet garden forever") == "Quiet Garden Forever"


def test_entries_are_stored_by_column():
    resolver = Resolver.from_values([("a", "Heat", 2.0), ("b", "Alien"), ("c", "Jaws", 0.5)], cache=False)
    entries = resolver.entries
    assert len(entries) == 3 and entries[1].name == "Alien" and entries[1].id == "b"
    assert entries[1].popularity == 1.0 and entries[-1].popularity == 0.5
    assert [e.name for e in entries] == ["Heat", "Alien", "Jaws"] and [e.id for e in entries[:2]] == ["a", "b"]
    plain = Resolver.from_values(["Heat", "Alien"], cache=False).entries
    assert plain.ids is None and plain.popularity is None and plain[0].id is None
    with pytest.raises(IndexError):
        entries[3]


def test_unknown_index_kind_is_a_value_error():
    with pytest.raises(ValueError, match="unknown index kind 'annoy'"):
        Resolver.from_values(TITLES, index="annoy", cache=False)


def _hashed_by_definition(grams: list[str], dim: int) -> np.ndarray:
    """The hashed vector defined gram by gram (as the resolver's format-1 code computed it)."""
    import hashlib

    vec = np.zeros(dim, dtype=np.float32)
    counts: dict[str, int] = {}
    for g in grams:
        counts[g] = counts.get(g, 0) + 1
    for g, n in counts.items():
        h = int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(), "little")
        vec[h % dim] += (1.0 if (h >> 63) & 1 else -1.0) * (1.0 + np.log(n))
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def test_batched_vectors_equal_the_definition_bit_for_bit():
    """The numpy batch encoder must not move a single bit: small catalogs' results stay what they were."""
    from hark.phonetics import G2P
    from hark.plugins.entity_resolver.phonetic import (LEX_DIM, PHONE_DIM, _lexical_grams, _phone_grams,
                                                       lexical_vectors, phone_vectors)

    texts = TITLES + ["glasgow", "the the the the", "a", "ab ab ab", "Amélie", "الفيل الأزرق"]
    g2p = G2P.default()
    fines = [phone_string(g2p.phrase(t)) for t in texts]
    phone_ref = np.stack([_hashed_by_definition(_phone_grams(f), PHONE_DIM) if f else np.zeros(PHONE_DIM, np.float32)
                          for f in fines])
    lex_ref = np.stack([_hashed_by_definition(_lexical_grams(normalize_text(t)), LEX_DIM) for t in texts])
    for batch in (1, 9, len(texts)):  # one at a time (Python path), batched (numpy path)
        phon = np.vstack([phone_vectors(fines[i:i + batch]) for i in range(0, len(fines), batch)])
        lex = np.vstack([lexical_vectors(texts[i:i + batch]) for i in range(0, len(texts), batch)])
        assert np.array_equal(phon, phone_ref) and np.array_equal(lex, lex_ref)


def test_feature_matrix_equals_pair_features():
    from hark.phonetics import G2P
    from hark.plugins.entity_resolver.phonetic import pair_feature_matrix, pair_features

    g2p = G2P.default()
    hyps = ["the mattress", "beach walk", "الفيل"]
    cands = TITLES[:8] + ["الفيل الأزرق"]
    hf, cf = [phone_string(g2p.phrase(t)) for t in hyps], [phone_string(g2p.phrase(t)) for t in cands]
    ht, ct = [normalize_text(t) for t in hyps], [normalize_text(t) for t in cands]
    rng = np.random.default_rng(0)
    emb, lex = rng.random((3, len(cands)), dtype=np.float32), rng.random((3, len(cands)), dtype=np.float32)
    logw, pop = [0.0, -0.5, -1.0], rng.random(len(cands)) - 1
    matrix = pair_feature_matrix(hf, ht, cf, ct, emb, lex, logw, pop)
    for h in range(3):
        for c in range(len(cands)):
            one = pair_features(hf[h], coarse_string(hf[h]), ht[h], cf[c], coarse_string(cf[c]), ct[c],
                                float(emb[h, c]), float(lex[h, c]), logw[h], float(pop[c]))
            assert np.array_equal(matrix[h, c], np.array(one, dtype=np.float32))


def test_kept_rows_are_the_vectors_and_rank_as_recomputation(monkeypatch, large_catalog, one_faiss_thread):
    """A compressed catalog keeps its entries' exact vectors as non-zeros: bit for bit the encoders' vectors, so a
    query ranks the same as when the candidates are encoded again (catalogs over SPARSE_LIMIT)."""
    from hark.plugins.entity_resolver import index as module
    from hark.plugins.entity_resolver.phonetic import lexical_vectors

    monkeypatch.setattr(module, "FLAT_LIMIT", 1000)
    values = list(enumerate(large_catalog))
    for weights in ("phonetic", "combined"):
        with_rows = Resolver.from_values(values, cache=False, weights=weights)
        monkeypatch.setattr(module, "SPARSE_LIMIT", 1000)
        without = Resolver.from_values(values, cache=False, weights=weights)
        monkeypatch.setattr(module, "SPARSE_LIMIT", 50_000)
        assert with_rows.index_kind == without.index_kind == "pq" and not without._index.rows
        assert set(with_rows._index.rows) == set(with_rows.ranker.channels)
        for heard in ("the silver rivers of dreams", "golden window add dawn", "hollow meadow", "quiet garden"):
            nbest = [(heard, 0.6), ("broken castle at night", 0.4)]
            assert with_rows.resolve(heard, k=10) == without.resolve(heard, k=10)
            assert with_rows.resolve(heard, nbest=nbest, k=10) == without.resolve(heard, nbest=nbest, k=10)
    index, encoder = with_rows._index, with_rows.encoder
    ids = np.array([0, 7, 1234, 2999, 7])
    assert np.array_equal(index.vectors("phonetic", ids, encoder), encoder.encode(index.fines.take(ids)))
    lexical = lexical_vectors(index.texts.take(ids), normalized=True)
    assert np.array_equal(index.vectors("lexical", ids, encoder), lexical)
    assert index.rows["phonetic"].dense(np.zeros(0, dtype=np.int64)).shape == (0, encoder.dim)


def test_kept_rows_are_cached_and_added_to_an_older_cache(tmp_path, monkeypatch, large_catalog, one_faiss_thread):
    from hark.plugins.entity_resolver import index as module

    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(module, "FLAT_LIMIT", 1000)
    first = Resolver.from_values(large_catalog)
    rows_file = first.cache_path / "phonetic.rows.npz"
    assert rows_file.is_file()
    second = Resolver.from_values(large_catalog)
    assert second.loaded_from_cache and "phonetic" in second._index.rows
    rows, again = first._index.rows["phonetic"], second._index.rows["phonetic"]
    assert all(np.array_equal(a, b) for a, b in zip(rows.arrays().values(), again.arrays().values()))
    rows_file.unlink()  # a cache written before the rows were kept: they are made and saved once
    older = Resolver.from_values(large_catalog)
    assert not older.loaded_from_cache and "phonetic" in older._index.rows and rows_file.is_file()
    rows_file.write_bytes(b"damaged")
    assert "phonetic" in Resolver.from_values(large_catalog)._index.rows
    assert Resolver.from_values(large_catalog).loaded_from_cache
    assert first.resolve("hidden forest at dawn") == older.resolve("hidden forest at dawn")


def test_batched_string_helpers_equal_the_one_at_a_time_ones():
    import unicodedata

    from hark.phonetics import _LATIN_FOLD, normalize_word
    from hark.plugins.entity_resolver.phonetic import coarse_strings

    fines = [phone_string(("M", "EY", "T", "R", "IH", "K", "S")), "", phone_string(("B", "IY", "CH"))]
    assert coarse_strings(fines) == [coarse_string(f) for f in fines] and coarse_strings([]) == []
    for word in ("Beyoncé", "The Matrix", "DON\u2019T", "\ufb01lm", "Ａｍｅｌｉｅ", "rock'n'roll", "北京"):
        folded = unicodedata.normalize("NFKD", word.lower().translate(_LATIN_FOLD))  # without the ASCII shortcut
        assert normalize_word(word) == "".join(c for c in folded if not unicodedata.combining(c))
