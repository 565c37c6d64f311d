"""Derives the emoji picker's data (webui/js/emoji/emoji.json) from the npm package
emojibase-data (MIT License, Copyright (c) 2017-2019 Miles Johnson: its notice travels in
the output's "source" and "license" keys). Run after `npm pack emojibase-data@15` and unpacking:

    python3 scripts/emoji_data.py package/ > webui/js/emoji/emoji.json

The output keeps what the picker shows and searches, one row per emoji:
[emoji, name, group, "shortcodes", "search tags", [five skin-tone variants]?]
(shortcodes: GitHub's, then emojibase's; tags: words to search by, separated by spaces)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def derive(package: Path) -> dict[str, object]:
    data = json.loads((package / "en/data.json").read_text())
    groups = json.loads((package / "en/messages.json").read_text())["groups"]
    codes: dict[str, list[str]] = {}
    for source in ("github", "emojibase"):
        for hexcode, names in json.loads(
            (package / f"en/shortcodes/{source}.json").read_text()
        ).items():
            for name in [names] if isinstance(names, str) else names:
                if name not in codes.setdefault(hexcode, []):
                    codes[hexcode].append(name)
    names = [
        g["message"] for g in sorted(groups, key=lambda g: g["order"]) if g["key"] != "component"
    ]
    rows = []
    for e in sorted(
        (e for e in data if "group" in e and e["group"] != 2), key=lambda e: e["order"]
    ):
        group = next(i for i, g in enumerate(groups) if g["order"] == e["group"])
        group = names.index(groups[group]["message"])
        shortcodes = codes.get(e["hexcode"], [])
        tags = " ".join(t for t in dict.fromkeys(e.get("tags", [])) if t not in shortcodes)
        row: list[object] = [e["emoji"], e["label"], group, " ".join(shortcodes), tags]
        skins = [s["emoji"] for s in e.get("skins", []) if isinstance(s.get("tone"), int)]
        if len(skins) == 5:
            row.append(skins)
        rows.append(row)
    version = json.loads((package / "package.json").read_text())["version"]
    return {
        "source": f"emojibase-data {version} (npm), https://emojibase.dev",
        "license": (package / "LICENSE").read_text(),
        "groups": names,
        "emoji": rows,
    }


if __name__ == "__main__":
    json.dump(derive(Path(sys.argv[1])), sys.stdout, ensure_ascii=False, separators=(",", ":"))
    sys.stdout.write("\n")
