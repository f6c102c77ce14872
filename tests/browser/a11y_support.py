"""Measured accessibility and layout for the browser tests: axe-core from disk, page width at a phone.

axe-core is the npm package installed next to these tests (`npm install --prefix tests/browser`, which
`.ci/run` and `make test` do): it reaches the test browser as an init script read from disk, never from
a CDN, and runs inside the page (open shadow roots, such as the widget's, included).
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_path() -> Path:
    if not AXE.exists():
        pytest.fail("axe-core is not installed: `npm install --prefix tests/browser` (.ci/run and make test do this)")
    return AXE


def with_axe(context):
    """Make axe available on every page the context opens. An init script is not subject to the page's
    Content-Security-Policy, so the desk's strict policy needs no exception for the test."""
    context.add_init_script(path=str(axe_path()))
    return context


def serious_violations(page) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line per failing element."""
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => ["serious", "critical"].includes(v.impact)).flatMap(v =>
            v.nodes.map(n => `${v.impact} ${v.id}: ${n.target.join(" ")} (${v.help})`));
    }""")
    return found


def overflow(page) -> dict | None:
    """None when the page fits the viewport: the document no wider than it, and no box that hides part of
    its content behind a sideways scroll (a table cut off at the edge); else what does not fit."""
    return page.evaluate("""() => {
        const viewport = document.documentElement.clientWidth;
        const width = Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0);
        const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
            (typeof e.className === "string" && e.className.trim()
             ? "." + e.className.trim().split(/\\s+/).join(".") : "");
        const all = [...document.querySelectorAll("body *")];
        const sideways = all.filter(e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX)
                                         && !["TEXTAREA", "INPUT", "SELECT"].includes(e.tagName)
                                         && e.scrollWidth > e.clientWidth + 1)
                            .map(e => `${name(e)} shows ${e.clientWidth} of ${e.scrollWidth} px`);
        if (width <= viewport && !sideways.length) return null;
        const culprits = all.filter(e => e.getBoundingClientRect().right > viewport + 1
                                         && getComputedStyle(e).position !== "fixed")
            .slice(-4).map(e => name(e) + " right=" + Math.round(e.getBoundingClientRect().right));
        return {viewport, width, culprits, sideways};
    }""")
