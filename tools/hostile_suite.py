"""Run the whole hostile-input suite and print its figures: cases per class, how many pass, the slowest case and
the worst peak memory (the command and its worker).

    .venv/bin/python tools/hostile_suite.py [--report PATH] [pytest arguments...]

The same as ``.venv/bin/python -m pytest tests/hostile --hostile-full --hostile-report PATH``, then the table.
``--summarise PATH`` prints the table of a report already written (POCKET_MOCAP_HOSTILE=before runs one for an
older version).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ("images", "videos", "paths", "outputs", "models", "weights", "arguments")


def summarise(figures: list[dict]) -> str:
    by_family: dict[str, list[dict]] = defaultdict(list)
    for item in figures:
        by_family[item["family"]].append(item)
    lines = ["| class | cases | passed | slowest (s) | worst peak memory (MB) |", "|---|---|---|---|---|"]
    for family in sorted(by_family, key=lambda f: FAMILIES.index(f) if f in FAMILIES else len(FAMILIES)):
        items = by_family[family]
        lines.append(f"| {family} | {len(items)} | {sum(i['passed'] for i in items)} | "
                     f"{max(i['seconds'] for i in items):.1f} | {max(i['peak_mb'] for i in items)} |")
    worst = max(figures, key=lambda i: i["peak_mb"])
    lines.append(f"| all | {len(figures)} | {sum(i['passed'] for i in figures)} | "
                 f"{max(i['seconds'] for i in figures):.1f} | {worst['peak_mb']} ({worst['case']}) |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, help="where the JSON report goes (default out/hostile_report.json)")
    parser.add_argument("--summarise", type=Path, help="only print the table of this report")
    args, pytest_args = parser.parse_known_args()
    if args.summarise:
        print(summarise(json.loads(args.summarise.read_text())))
        return 0
    report = args.report or ROOT / "out" / "hostile_report.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    code = subprocess.call([sys.executable, "-m", "pytest", str(ROOT / "tests" / "hostile"), "--hostile-full",
                            "--hostile-report", str(report), "-p", "no:cacheprovider", "-q", *pytest_args], cwd=ROOT)
    if report.is_file():
        print(summarise(json.loads(report.read_text())))
        print(f"report: {report}")
    return code


if __name__ == "__main__":
    sys.exit(main())
