"""espeak-ng phonemes <-> ARPAbet: what the tutor's synthetic speech is labelled with and spoken from."""
from __future__ import annotations

import subprocess

import pytest

from conftest import needs_espeak
from hark.phonetics import edit_distance, load_cmudict
from hark.phonetics.espeak import arpabet_to_espeak, espeak_phonemes, espeak_to_arpabet

EVERYDAY = ("the quick brown fox jumps over lazy dog think three water kitchen light music turn off please timer "
            "minutes weather tomorrow morning set alarm play some jazz milk sugar measure judge church sing yes "
            "vision going boy house hear care sure door hurt").split()


def test_espeak_output_reads_as_arpabet_and_unknown_phonemes_are_named():
    assert espeak_to_arpabet("T 'I N k") == ("TH", "IH", "NG", "K")
    assert espeak_to_arpabet("k 'e@ ") == ("K", "EH", "R")
    with pytest.raises(ValueError, match="'Q9'"):
        espeak_to_arpabet("k Q9 t")


def test_arpabet_becomes_espeak_input_with_stress_on_the_first_vowel():
    assert arpabet_to_espeak([["S", "IH", "NG", "K"], ["AH", "B", "AW", "T"]]) == "[[s'INk 'VbaUt]]"
    assert arpabet_to_espeak([["DH", "AH"], ["K", "AE", "T"]]) == "[[D'V k'at]]"
    with pytest.raises(ValueError, match="not ARPAbet: QQ"):
        arpabet_to_espeak([["QQ"]])


@needs_espeak
def test_espeak_pronounces_everyday_words_as_cmudict_does():
    """Measured: 96.5 % of the phones agree; the rest are real variants (dog D AA G, coffee K AO F IY)."""
    cmu = load_cmudict()
    heard = espeak_phonemes(EVERYDAY)
    agree = sum(len(cmu[w]) - edit_distance(list(cmu[w]), list(p)) for w, p in zip(EVERYDAY, heard))
    assert agree / sum(len(cmu[w]) for w in EVERYDAY) >= 0.93


@needs_espeak
def test_a_substituted_phone_round_trips_through_espeak():
    """What the tutor's tests and L2-GEN synthesis rely on: the phones we ask espeak-ng to say are the ones it
    says ("think" with S for TH)."""
    wanted = [["AY"], ["S", "IH", "NG", "K"], ["S", "OW"]]
    echo = subprocess.run(["espeak-ng", "-q", "-v", "en-us", "-x", "--sep= "], input=arpabet_to_espeak(wanted),
                          capture_output=True, text=True, check=True).stdout
    assert [list(espeak_to_arpabet(w)) for w in echo.strip().split("  ")] == wanted
