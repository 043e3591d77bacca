"""The boundaries ARCHITECTURE.md asks for, checked on the source (imports, by ast)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "posture"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def modules_importing(prefix: str) -> set[str]:
    return {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
            if any(m == prefix or m.startswith(prefix + ".") for m in imports(p))}


def test_only_one_module_imports_mediapipe():
    assert modules_importing("mediapipe") == {"posture/landmarks/mediapipe_pose.py"}


def test_only_the_app_imports_streamlit():
    outside = {m for m in modules_importing("streamlit") if not m.startswith("posture/app/")}
    assert outside == set()


def test_metrics_are_pure():
    for path in (PACKAGE / "metrics").glob("*.py"):
        bad = {m for m in imports(path) if m.startswith(("posture.store", "posture.cli",
                                                          "posture.landmarks.mediapipe_pose",
                                                          "posture.landmarks.passes",
                                                          "posture.render", "cv2"))}
        assert not bad, (path.name, bad)


def test_importing_posture_loads_no_model():
    code = ("import sys, posture, posture.cli, posture.render, posture.export; "
            "print('mediapipe' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"
