"""The project's one drum vocabulary: classes, their notes, E-GMD's note map.

Plain data, no heavy imports.  Every other module takes these facts from here.

* :data:`CLASSES` - the 8 model classes, in model-output order (the defaults of
  ``midi.drum_names`` in :mod:`drumscribe.core.config`); :data:`TOM_CLASSES`,
  :data:`CORE_CLASSES` (the plan's recall checklist) name subsets of them.
* :data:`GM_OUTPUT` - the General MIDI note written for each class in
  transcribed MIDI (the default of ``midi.gm_mapping``).
* :data:`TD_NOTES` - every note E-GMD / GMD use (the Roland TD kit's numbering,
  NOT General MIDI for the toms) -> (class, articulation).  Source: the E-GMD and
  GMD papers / README; Magenta's own 9-voice reduction agrees on every tom.
* :data:`TD_TO_GM` - the General MIDI drum note that sounds each TD note on a GM
  soundfont (how the synthesiser plays a TD articulation through a GM preset).
* :data:`FOLD5` - the 5-class fold (kick, snare, toms, hi-hat, cymbals) used by
  metrics to compare with published E-GMD results.
* :func:`td_mapping` - E-GMD note -> class index (the default of ``egmd_midi_mapping``).
* :data:`ARTICULATION_CLASSES` - the articulations a model may predict beside the 8
  drums (open / pedal hi-hat, cross-stick, rim shot, ride bell).  Each belongs to one
  drum (:data:`ARTICULATION_PARENT`): an open hi-hat is still a ``hihat`` hit, so the
  8- and 5-class views fold every articulation back into its drum.  The truth mapping
  (:data:`ARTICULATION_TD`, TD notes -> articulation) and the General MIDI note each
  one is written with (:data:`ARTICULATION_GM`) are this one table.

Tom numbering, the one trap: on a TD kit tom 1 (high) is 48 with rim 50, tom 2
(mid) 45 with rim 47, tom 3 (floor) 43 with rim 58.  General MIDI calls 50 "High
Tom", 47/48 "Mid Tom" and 45/43/41 "Low/Floor Tom"; a GM reading of E-GMD files
puts tom 1 into mid_tom and tom 2 into low_tom (see :func:`tom_map_disagreements`).
"""

from __future__ import annotations

CLASSES: tuple[str, ...] = ("kick", "snare", "hihat", "hi_tom", "mid_tom", "low_tom", "crash", "ride")
TOM_CLASSES: tuple[str, ...] = ("hi_tom", "mid_tom", "low_tom")  # high -> low pitch
# the plan's core classes: its success checklist asks kick, snare and hi-hat recall > 0.30 each
CORE_CLASSES: tuple[str, ...] = ("kick", "snare", "hihat")

# General MIDI note written for each class (transcription output).
GM_OUTPUT: dict[str, int] = {
    "kick": 36, "snare": 38, "hihat": 42, "hi_tom": 50, "mid_tom": 47, "low_tom": 45, "crash": 49, "ride": 51,
}

# E-GMD / GMD (Roland TD) note -> (class, articulation)
TD_NOTES: dict[int, tuple[str, str]] = {
    36: ("kick", "kick"),
    38: ("snare", "head"),
    40: ("snare", "rim shot"),
    37: ("snare", "cross-stick"),
    48: ("hi_tom", "tom 1 head"),
    50: ("hi_tom", "tom 1 rim"),
    45: ("mid_tom", "tom 2 head"),
    47: ("mid_tom", "tom 2 rim"),
    43: ("low_tom", "tom 3 head"),
    58: ("low_tom", "tom 3 rim"),
    42: ("hihat", "closed bow"),
    22: ("hihat", "closed edge"),
    46: ("hihat", "open bow"),
    26: ("hihat", "open edge"),
    44: ("hihat", "pedal"),
    49: ("crash", "crash 1 bow"),
    55: ("crash", "crash 1 edge"),
    57: ("crash", "crash 2 bow"),
    52: ("crash", "crash 2 edge"),
    51: ("ride", "ride bow"),
    59: ("ride", "ride edge"),
    53: ("ride", "ride bell"),
}
TD_CLASS: dict[int, str] = {n: c for n, (c, _) in TD_NOTES.items()}
TD_CLASS_NOTES: dict[str, tuple[int, ...]] = {c: tuple(n for n, (k, _) in TD_NOTES.items() if k == c) for c in CLASSES}
# head (main) note of each class on a TD kit
TD_MAIN: dict[str, int] = {
    "kick": 36, "snare": 38, "hihat": 42, "hi_tom": 48, "mid_tom": 45, "low_tom": 43, "crash": 49, "ride": 51,
}
OPEN_HIHAT: tuple[int, ...] = (46, 26)
PEDAL_HIHAT: tuple[int, ...] = (44,)
HIHAT_NOTES: tuple[int, ...] = TD_CLASS_NOTES["hihat"]
CYMBAL_NOTES: tuple[int, ...] = TD_CLASS_NOTES["crash"] + TD_CLASS_NOTES["ride"] + OPEN_HIHAT

# The sound a TD note falls back to when a kit has no sample for it, in order;
# always the same drum (never another class).  The truth keeps the TD note.
SOUND_FALLBACK: dict[int, tuple[int, ...]] = {
    36: (),
    38: (40,),
    40: (38,),
    37: (40, 38),
    48: (50,),
    50: (48,),
    45: (47,),
    47: (45,),
    43: (58,),
    58: (43,),
    42: (22,),
    22: (42,),
    46: (26, 42),
    26: (46, 42),
    44: (42, 22),
    49: (55, 57, 52),
    55: (49, 57, 52),
    57: (52, 49, 55),
    52: (57, 55, 49),
    51: (59, 53),
    59: (51, 53),
    53: (51, 59),
}

# TD note -> General MIDI drum note that plays it on a GM soundfont preset.
TD_TO_GM: dict[int, int] = {
    36: 36, 38: 38, 40: 40, 37: 37,
    48: 50, 50: 50, 45: 47, 47: 47, 43: 43, 58: 43,
    42: 42, 22: 42, 46: 46, 26: 46, 44: 44,
    49: 49, 55: 49, 57: 57, 52: 57,
    51: 51, 59: 59, 53: 53,
}

# Articulations: name -> (parent drum, TD truth notes, General MIDI output note).
# A rim shot is written as GM 38 (GM has no rim-shot note; 40 is "electric snare") and
# flagged as ``rimshot`` in JSON/CSV.  Order = model-output order of articulation heads.
ARTICULATION_TABLE: dict[str, tuple[str, tuple[int, ...], int]] = {
    "hihat_open": ("hihat", (46, 26), 46),
    "hihat_pedal": ("hihat", (44,), 44),
    "cross_stick": ("snare", (37,), 37),
    "rimshot": ("snare", (40,), 38),
    "ride_bell": ("ride", (53,), 53),
}
ARTICULATION_CLASSES: tuple[str, ...] = tuple(ARTICULATION_TABLE)
ARTICULATION_PARENT: dict[str, str] = {a: p for a, (p, _, _) in ARTICULATION_TABLE.items()}
ARTICULATION_TD: dict[int, str] = {n: a for a, (_, ns, _) in ARTICULATION_TABLE.items() for n in ns}
ARTICULATION_GM: dict[str, int] = {a: gm for a, (_, _, gm) in ARTICULATION_TABLE.items()}


def articulation_of(td_note: int) -> str:
    """The articulation a TD truth note plays (``""``: the drum's plain stroke)."""
    return ARTICULATION_TD.get(int(td_note), "")


# The 5-class fold used to compare with published E-GMD results.
FOLD5: dict[str, str] = {
    "kick": "kick", "snare": "snare", "hi_tom": "toms", "mid_tom": "toms", "low_tom": "toms",
    "hihat": "hihat", "crash": "cymbals", "ride": "cymbals",
}
FOLD5_CLASSES: tuple[str, ...] = ("kick", "snare", "toms", "hihat", "cymbals")


def td_mapping() -> dict[int, int]:
    """E-GMD note -> class index, every TD note on its drum (what configs should say)."""
    return {n: CLASSES.index(c) for n, c in TD_CLASS.items()}


def tom_map_disagreements(mapping: dict[int, int], class_names=CLASSES) -> list[str]:
    """Where ``mapping`` (note -> class index) reads a TD tom note into another tom class.

    Returns human-readable items like ``"48 (tom 1 head) -> mid_tom, E-GMD: hi_tom"``;
    empty when the config agrees with E-GMD's numbering.
    """
    out = []
    for note, (cls, art) in TD_NOTES.items():
        if cls not in TOM_CLASSES:
            continue
        idx = mapping.get(note)
        got = class_names[idx] if idx is not None and 0 <= idx < len(class_names) else None
        if got != cls:
            out.append(f"{note} ({art}) -> {got or 'unmapped'}, E-GMD: {cls}")
    return out


# The output rule for articulations (issue 28): a transcription writes an articulation note by default
# only when the model's precision for it, at its shipped threshold, is at least this on real recordings
# (real-dev drum tracks and multitrack sums) and on GMD test; otherwise the drum's plain note
# (``postprocessing.written_articulations`` lists the ones that passed; scripts/articulation_gate.py).
ARTICULATION_MIN_PRECISION = 0.80
# what ``--classes`` / ``articulations=`` may ask for: the shown-right articulations (default), every
# articulation output even where unproven, or the 8 drums only
ARTICULATION_VIEWS = ("shown", "all", "none")

