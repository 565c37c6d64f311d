"""axe-core (Deque's accessibility engine, vendor/axe.min.js, MPL-2.0) run inside a test page.

It exists for the tests only: the package never ships tests/, and the app never loads it. The
app's strict CSP (`script-src 'self'`) would refuse a <script> tag with axe in it, so axe is
evaluated through the DevTools protocol (`page.evaluate`), which a page's CSP does not govern;
the CSP itself is left as users get it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# WCAG 2.1 at level AA: what the issue asks (best-practice rules are not in these tags).
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

_RUN = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({
      impact: n.impact, target: n.target.join(' '), summary: n.failureSummary,
    })),
  }));
}"""


@cache
def _source() -> str:
    # A statement list, not an expression: `void 0` keeps Playwright from reading it as one.
    return AXE.read_text(encoding="utf-8") + "\n;void 0;"


def violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.1 AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_source())
    found: list[dict[str, Any]] = page.evaluate(_RUN, WCAG_21_AA)
    blocking = []
    for rule in found:
        nodes = [n for n in rule["nodes"] if n["impact"] in BLOCKING]
        if nodes:
            blocking.append({**rule, "nodes": nodes})
    return blocking


def report(where: str, found: list[dict[str, Any]]) -> list[str]:
    """One readable line per failing element: where, rule id, impact, target selector, why."""
    lines = []
    for rule in found:
        for node in rule["nodes"]:
            why = " ".join(node["summary"].split())
            lines.append(
                f"{where}: {rule['id']} ({node['impact']}) at {node['target']}: {rule['help']}. {why}"
            )
    return lines
