"""The tree as committed: no merge left half done."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.M)


def test_no_file_holds_merge_conflict_markers():
    git = shutil.which("git")
    assert git, "git is needed to list the tree"
    listed = subprocess.run(
        [git, "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    marked = []
    for name in listed:
        path = ROOT / name
        if path.suffix in {".png", ".mo", ".svg", ".ico"} or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if MARKER.search(text):
            marked.append(name)
    assert marked == []
