"""The package's folders follow the data's path, and the light transcription path stays light.

* importing every module of ``drumscribe.transcription`` (and ``drumscribe.api``, ``drumscribe.core``,
  ``drumscribe.audio``) loads no training code, torch, Lightning, numba, librosa, scipy.signal or music21;
* no file under ``transcription/`` imports ``drumscribe.training``, not even inside a function (the torch
  backend is reached through the model object; ``api.py`` is the wiring point);
* no folder imports "backwards" (``core`` imports no other folder, ``audio`` only ``core``), and the
  module-level imports of the whole package form no circle;
* inside a folder, the imports form no circle even counting the imports inside functions (a lazy import
  hides a circle from ``import`` but not from a reader: ``synth/kits`` and ``synth/sampler`` once imported
  each other that way), and no module in ``synth/`` is over 600 lines (one job per module).
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "drumscribe"
HEAVY = ("drumscribe.training", "torch", "lightning", "pytorch_lightning", "numba", "librosa", "scipy.signal",
         "music21")
# folder -> the drumscribe folders it may import (at any level); the top-level modules (api, cli) are not folders
MAY_IMPORT = {
    "core": {"core"},
    "audio": {"core", "audio"},
    "transcription": {"core", "audio", "dataset", "transcription"},
}


def _modules(src: Path = SRC, pkg: Path = PKG) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of the package (``pkg`` under ``src``)."""
    out = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str, top_level_only: bool, mods: dict | None = None) -> set[str]:
    """Dotted names of the drumscribe modules (or packages) ``path`` imports; ``top_level_only``: only the
    imports run when the module is imported (module body, also inside a top-level ``if``/``try``)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    if top_level_only:
        nodes, todo = [], list(tree.body)
        while todo:
            n = todo.pop()
            nodes.append(n)
            if isinstance(n, (ast.If, ast.Try)):
                todo += n.body + n.orelse + getattr(n, "finalbody", []) + [
                    s for h in getattr(n, "handlers", []) for s in h.body]
    else:
        nodes = list(ast.walk(tree))
    mods = _modules() if mods is None else mods
    out = set()
    for n in nodes:
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names if a.name.split(".")[0] == "drumscribe"}
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                anchor = package.split(".")[: len(package.split(".")) - (n.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "drumscribe":
                continue
            for a in n.names:
                out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base)
    out.discard(module)
    return out


def _folder(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PKG / parts[1]).is_dir()) else None


def test_light_modules_import_no_training_code():
    names = [m for m in _modules() if m.split(".")[:2] in (["drumscribe", "transcription"], ["drumscribe", "core"],
                                                          ["drumscribe", "audio"])] + ["drumscribe.api"]
    assert len(names) > 15, names
    code = (f"import importlib, sys\nfor m in {names!r}:\n    importlib.import_module(m)\n"
            f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout


def test_folders_import_only_forwards():
    offenders = []
    for module, path in _modules().items():
        folder = _folder(module)
        if folder not in MAY_IMPORT:
            continue
        for imp in _imports(path, module, top_level_only=False):
            target = _folder(imp)
            if target is not None and target not in MAY_IMPORT[folder]:
                offenders.append((module, imp))
    assert offenders == []


def _import_graph(top_level_only: bool = True, mods: dict | None = None) -> dict[str, set[str]]:
    """Module -> the drumscribe modules it imports (``top_level_only``: only when it is imported)."""
    mods = _modules() if mods is None else mods
    return {m: _imports(p, m, top_level_only=top_level_only, mods=mods) for m, p in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m == goal:
            return True
        if m not in seen:
            seen.add(m)
            todo += sorted(graph.get(m, ()))
    return False


def _package_circles(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """``(module, package)`` where ``module`` imports the package itself (``from drumscribe.synth import
    SR``: a name of its ``__init__``) while the package's ``__init__`` reaches ``module`` through any
    import, lazy ones included: the package's public surface then depends on a module that depends on
    the surface."""
    packages = {m for m, p in _modules().items() if p.name == "__init__.py"}
    return sorted((m, pkg) for m, deps in graph.items() for pkg in deps & packages
                  if m != pkg and m.startswith(pkg + ".") and _reaches(graph, pkg, m))


def test_no_import_circle():
    """Module-level imports (what runs on ``import``) form a DAG, inside ``synth/`` and across folders;
    and no module inside a package takes a name from the package's ``__init__`` that (lazily or not)
    imports that module."""
    assert _cycles(_import_graph()) == []
    assert _package_circles(_import_graph(top_level_only=False)) == []


def test_circle_through_a_package_init_is_found():
    """The check itself: the circle this project once had (``sampler`` took ``SR`` from
    ``synth/__init__``, whose lazy ``render_dataset`` imports ``render`` -> ... -> ``sampler``) is found."""
    graph = _import_graph(top_level_only=False)
    graph["drumscribe.synth.sampler"] = graph["drumscribe.synth.sampler"] | {"drumscribe.synth"}
    assert ("drumscribe.synth.sampler", "drumscribe.synth") in _package_circles(graph)


def test_every_module_is_in_a_folder_or_the_public_surface():
    """The layout of README's "Project layout": the top level holds only the public surface."""
    top = sorted(p.stem for p in PKG.glob("*.py"))
    assert top == ["__init__", "__main__", "api", "cli"], top
    folders = sorted(m.name for m in pkgutil.iter_modules([str(PKG)]) if m.ispkg)
    assert folders == ["audio", "commands", "core", "dataset", "evaluation", "synth", "training", "transcription"]


# ------------------------------------------------------------------ circles inside a folder, lazy imports included
def _folder_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Circles among the modules of one folder, through any import (module level or inside a function)."""
    out = []
    for folder in sorted({_folder(m) for m in graph} - {None}):
        sub = {m: {d for d in deps if _folder(d) == folder and d != m} for m, deps in graph.items()
               if _folder(m) == folder}
        out += _cycles(sub)
    return out


def test_no_import_circle_inside_a_folder_lazy_imports_included():
    """No exception list: every folder, ``synth/`` and ``transcription/`` (``chart`` <-> ``chart_sections``
    until the format's numbers moved down into ``chart_format``) included."""
    assert _folder_circles(_import_graph(top_level_only=False)) == []


def test_the_chart_modules_import_only_downwards():
    """The chart rooms in order: ``chart_format`` (the format's numbers) <- ``chart_sections`` <- ``chart`` <-
    ``chart_text`` / ``chart_folder``; no lower room names a higher one, not even inside a function."""
    order = ["chart_format", "chart_sections", "chart", "chart_text", "chart_folder"]
    graph = _import_graph(top_level_only=False)
    name = "drumscribe.transcription.{}".format
    for i, low in enumerate(order):
        assert graph[name(low)] & {name(high) for high in order[i + 1:]} == set(), low
    assert name("chart_sections") in graph[name("chart")] and name("chart_format") in graph[name("chart_sections")]


def _write_package(root: Path, files: dict) -> dict:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return _modules(root, root / "drumscribe")


def test_folder_circle_check_finds_a_circle_through_a_lazy_import(tmp_path):
    """The check itself, on a small package of the shape ``synth/`` had before it was split (867c0d5):
    ``sampler`` imports ``kits`` at module level and ``kits`` imports ``sampler`` inside a function.
    The module-level check misses it; the folder check finds it, and finds none once the function's
    import is gone."""
    before = {
        "drumscribe/__init__.py": "",
        "drumscribe/synth/__init__.py": "def __getattr__(name):\n    from drumscribe.synth import kits\n    return getattr(kits, name)\n",
        "drumscribe/synth/kits.py": ("class Kit:\n    pass\n\n\ndef list_kits(probe=False):\n"
                                     "    if probe:\n        from drumscribe.synth.sampler import sounding_notes\n"
                                     "        return sounding_notes\n    return []\n"),
        "drumscribe/synth/sampler.py": "from drumscribe.synth.kits import Kit\n\n\ndef sounding_notes(kit):\n    return []\n",
    }
    mods = _write_package(tmp_path / "before", before)
    assert _cycles(_import_graph(top_level_only=True, mods=mods)) == []  # what the old test saw
    assert _folder_circles(_import_graph(top_level_only=False, mods=mods)) == [
        ["drumscribe.synth.kits", "drumscribe.synth.sampler", "drumscribe.synth.kits"]]
    after = dict(before, **{"drumscribe/synth/kits.py": "class Kit:\n    pass\n\n\ndef list_kits():\n    return []\n"})
    mods = _write_package(tmp_path / "after", after)
    assert _folder_circles(_import_graph(top_level_only=False, mods=mods)) == []


SYNTH_MAX_LINES = 600


def test_no_module_in_synth_is_over_600_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in sorted((PKG / "synth").glob("*.py"))}
    assert len(sizes) >= 15, sizes  # the rooms are there (not one module put back together)
    assert {n: s for n, s in sizes.items() if s > SYNTH_MAX_LINES} == {}
