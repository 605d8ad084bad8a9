"""The numbers of the Clone Hero / YARG ``.mid`` drum chart format (TheNathannator/GuitarGame_ChartFormats:
``mid-format/Tracks/Drums.md``, ``mid-format/Tracks/Global-Events.md``): resolution, track names, note numbers,
velocities and event texts.  The chart modules' lowest room: :mod:`~drumscribe.transcription.chart` (the chart
model), :mod:`~drumscribe.transcription.chart_sections` and :mod:`~drumscribe.transcription.chart_text` take the
format's facts from here, and this module imports nothing of theirs.
"""

TICKS_PER_BEAT = 480  # the format's usual resolution
NOTE_TICKS = 60  # length of a chart note (1/32 note); tom markers cover the same span
TRACK_DRUMS, TRACK_BEAT, TRACK_EVENTS = "PART DRUMS", "BEAT", "EVENTS"
DIFFICULTIES = ("expert", "hard", "medium", "easy")
DIFFICULTY_BASE: dict[str, int] = {"expert": 96, "hard": 84, "medium": 72, "easy": 60}  # + LANE_OFFSET
LANE_OFFSET: dict[str, int] = {"kick": 0, "red": 1, "yellow": 2, "blue": 3, "green": 4}
PADS = ("red", "yellow", "blue", "green")
EXPERT_PLUS_KICK = 95
TOM_MARKER: dict[str, int] = {"yellow": 110, "blue": 111, "green": 112}
BEAT_NOTES = {"downbeat": 12, "beat": 13}
DYNAMICS_EVENT = "[ENABLE_CHART_DYNAMICS]"
ACCENT_VELOCITY, GHOST_VELOCITY, NORMAL_VELOCITY = 127, 1, 100
SECTION_EVENT = "[section {}]"  # Global-Events.md: "[section <name>]" marks a practice section
STAR_POWER_NOTE = 116
FILL_NOTES = (120, 121, 122, 123, 124)  # all five lanes of a drum fill / activation phrase
