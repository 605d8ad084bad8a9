"""The overwrite rule, for every file drumscribe writes (the CLI's commands and the Python API).

1. An input of the run (also through a symbolic or hard link) is never written over, not even with
   ``--overwrite``: :class:`~drumscribe.core.errors.OutputExistsError` (one line, exit 2).
2. An existing audio file, or a folder where a file is needed, is never written over either.
3. Any other existing output is kept, with a one-line notice, unless ``--overwrite`` (``overwrite=True``).

Commands declare their output options with :func:`add_output_argument` (so tests can walk every parser
for them) and apply the rule through an :class:`OutputRule`; writes themselves go through
:mod:`drumscribe.core.atomic`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# in-place: rewriting it is the command's job (tune's checkpoint); resumable: a folder a re-run with the same
# settings completes and one with other settings refuses (synth --out)
OUTPUT_KINDS = ("file", "folder", "in-place", "resumable")


def add_output_argument(parser, *flags, kind: str = "file", **kwargs):
    """``parser.add_argument`` for an output path, marked with ``action.output_kind`` (``file``/``folder``/``in-place``)."""
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {OUTPUT_KINDS}")
    action = parser.add_argument(*flags, **kwargs)
    action.output_kind = kind
    return action


def add_overwrite_argument(parser, what: str = "existing output files") -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what} (default: keep them, with a notice); inputs and existing audio "
                             "files are never replaced")


def file_ids(paths) -> dict:
    """``{(device, inode): path}`` of existing files (what "the same file" means, links included)."""
    out = {}
    for p in paths:
        if p is None:
            continue
        try:
            st = os.stat(p)
        except OSError:
            continue
        out[(st.st_dev, st.st_ino)] = p
    return out


def model_files(path) -> list[Path]:
    """A model path and, for ``.onnx``/``.safetensors``, its ``.json`` sidecar (both inputs of a run)."""
    from drumscribe.core.filetypes import SIDECAR_MODEL_SUFFIXES

    if path is None:
        return []
    path = Path(path)
    return [path, path.with_suffix(".json")] if path.suffix in SIDECAR_MODEL_SUFFIXES else [path]


def refusal(target, input_ids: dict) -> str | None:
    """Why ``target`` must never be written (rules 1 and 2), or None.  ``input_ids``: :func:`file_ids`."""
    target = Path(target)
    if not (target.exists() or target.is_symlink()):
        return None
    for key in file_ids([target]):
        if key in input_ids:
            return f"{target}: is the input {input_ids[key]}; refusing to write over it"
    if target.is_dir():
        return f"{target}: is a folder; an output file is needed"
    from drumscribe.core.filetypes import AUDIO_SUFFIXES as audio
    if target.suffix.lower() in audio or target.resolve().suffix.lower() in audio:
        return f"{target}: is an existing audio file; refusing to write over it"
    return None


def exists(path) -> bool:
    path = Path(path)
    return path.exists() or path.is_symlink()


def skip_notice(command: str, target, what=None) -> str:
    """The one line printed when an existing output is kept."""
    head = f"skipped {what}: " if what is not None else "kept "
    return f"drumscribe {command}: {head}{target} exists (pass --overwrite to replace it)"


class OutputRule:
    """The rule for one run: ``inputs`` (paths read; missing ones are ignored) and ``overwrite``.

    :meth:`refuse` raises for rules 1-2; :meth:`may_write` also applies rule 3 (printing the notice) and
    checks that the destination can be written (:func:`drumscribe.core.atomic.check_destination`).
    """

    def __init__(self, command: str, inputs=(), overwrite: bool = False):
        self.command = command
        self.input_ids = file_ids(list(inputs))
        self.overwrite = bool(overwrite)
        self.claimed: dict[str, Path] = {}

    def add_inputs(self, paths) -> None:
        self.input_ids.update(file_ids(list(paths)))

    def refuse(self, target) -> None:
        from drumscribe.core.errors import OutputExistsError

        why = refusal(target, self.input_ids)
        if why:
            raise OutputExistsError(why)

    def distinct(self, targets) -> None:
        """Two outputs of one run must not be one file (``--plot`` named like the output)."""
        from drumscribe.core.errors import OutputExistsError

        seen = {}
        for t in targets:
            key = os.path.normcase(os.path.abspath(t))
            if key in seen:
                raise OutputExistsError(f"{t}: named for two outputs of this run; give each its own name")
            seen[key] = t

    def kept(self, target) -> bool:
        """Whether ``target`` exists and is kept (no ``--overwrite``); rules 1-2 raise first."""
        self.refuse(target)
        return exists(target) and not self.overwrite

    def may_write(self, target, what=None, notice: bool = True) -> bool:
        """Rules 1-3 for one output: False (after the notice) when it is kept, True when it may be written."""
        if self.kept(target):
            if notice:
                print(skip_notice(self.command, target, what), file=sys.stderr)
            return False
        from drumscribe.core.atomic import check_destination

        check_destination(target)
        return True


def guard_api_write(path, overwrite: bool = False, source=None) -> Path:
    """The rule for the Python API's ``to_midi/to_json/to_csv(path)``: raises, never prints."""
    from drumscribe.core.errors import DrumscribeError, OutputExistsError

    if not isinstance(overwrite, bool) and type(overwrite).__name__ != "bool_":  # 'no' is truthy: never guess
        raise DrumscribeError(f"overwrite {overwrite!r}: must be True or False")
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise DrumscribeError(f"path {path!r}: expected a file path (str or pathlib.Path)")
    rule = OutputRule("api", [source] if source is not None else [], bool(overwrite))
    path = Path(path).expanduser()
    if rule.kept(path):
        raise OutputExistsError(f"{path}: exists (pass overwrite=True to replace it)")
    return path


# ------------------------------------------------------------------ a folder output as one unit (a chart's song folder)

def build_beside(target, owned=()) -> Path:
    """A new empty temp folder next to ``target`` (named like :func:`drumscribe.core.atomic.temp_sibling`); the
    folder output is built there, then swapped in (:func:`drumscribe.core.atomic.swap_folder`).

    A dead writer's leftover folders (``kill -9`` during a build or a swap) are removed first, but only when every
    file in them is one the run writes (a name in ``owned``): one that holds a user's file moved there by
    :func:`drumscribe.core.atomic.swap_folder` is kept, so that file is never lost."""
    import shutil

    from drumscribe.core.atomic import TMP_MARK, ensure_parent, glob_escape, parse_temp_name, temp_sibling, writer_alive

    target = Path(target)
    ensure_parent(target)
    for p in target.parent.glob(f".{glob_escape(target.name)}{TMP_MARK}*"):
        who = parse_temp_name(p.name)
        if who is None or writer_alive(*who):
            continue
        if p.is_dir() and not p.is_symlink():
            if all(f.name in owned for f in p.iterdir()):
                shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    build = temp_sibling(target)
    build.mkdir()
    return build


class folder_lock:
    """``with folder_lock(target):`` an exclusive lock (``flock``) on ``target``'s parent folder, held while a
    folder output is checked and swapped in, so that two runs into one folder never interleave."""

    def __init__(self, target):
        self.parent = Path(target).parent
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.parent, os.O_RDONLY)
        try:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except ImportError:  # no flock (Windows): the rename below is still atomic
            pass
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing the descriptor releases the lock
        return False
