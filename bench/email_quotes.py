"""Quote and signature stripping on the email corpus (tests/fixtures/email), per library.

    python -m bench email_quotes [--talon PYTHON] [--misses NAME]

Each message is parsed by helpdesk.inbound.parsing (so every library gets the same decoded text)
and its new text compared with the hand-written `.expected.txt`: exact (after trimming line ends) or
near (difflib ratio >= 0.9). Libraries: mail-parser-reply (first reply, sign-off kept),
email-reply-parser, quotequail, talon (only with `--talon` naming a Python that has it installed;
it is unmaintained since 2017 and not a dependency), and ours (mail-parser-reply plus the patterns in
helpdesk/inbound/replies.py), which the service uses. No database.

The corpus was written by us and the patterns tuned on it: read "ours" there as the ceiling on known
shapes. tests/fixtures/email/heldout/ (12 replies in other languages and client formats) was written
after the patterns were frozen and is never tuned on: its row is the honest estimate.
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "email"
TALON_SCRIPT = """
import json, sys
import talon; talon.init()
from talon import quotations
from talon.signature.bruteforce import extract_signature
print(json.dumps([extract_signature(quotations.extract_from_plain(t))[0] for t in json.load(sys.stdin)]))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench email_quotes", description=__doc__.splitlines()[0])
    parser.add_argument("--talon", help="a Python interpreter with talon installed")
    parser.add_argument("--misses", help="print the misses of the library whose name starts with this")
    args = parser.parse_args(argv)

    import quotequail
    from email_reply_parser import EmailReplyParser

    from helpdesk.importers.cleaning import normalize_text
    from helpdesk.inbound import replies
    from helpdesk.inbound.parsing import parse_email

    def quotequail_reply(text):
        parts = quotequail.quote(text)
        return parts[0][1] if parts and parts[0][0] else ""

    libraries = {
        "no stripping": lambda text: text,
        "mail-parser-reply": replies.library_reply,
        "email-reply-parser": EmailReplyParser.parse_reply,
        "quotequail": quotequail_reply,
    }
    if args.talon:
        texts = [parse_email(p.read_bytes()).text for p in sorted(CORPUS.glob("**/*.eml"))]
        out = subprocess.run([args.talon, "-c", TALON_SCRIPT], input=json.dumps(texts),
                             capture_output=True, text=True, check=True).stdout
        libraries["talon"] = dict(zip(texts, json.loads(out))).get
    libraries["ours (mail-parser-reply + patterns)"] = replies.new_text
    for title, folder in (("corpus (patterns tuned on it)", CORPUS), ("held out (never tuned on)", CORPUS / "heldout")):
        cases = [(p.stem, parse_email(p.read_bytes()).text,
                  p.with_name(p.name.removesuffix(".eml") + ".expected.txt").read_text(encoding="utf-8"))
                 for p in sorted(folder.glob("*.eml"))]
        print(f"\n{title}: {len(cases)} emails; exact = identical after trimming line ends; near = difflib ratio >= 0.9")
        _score(cases, libraries, normalize_text, args)
    return 0


def _score(cases, libraries, normalize_text, args):
    def norm(text):
        return "\n".join(line.rstrip() for line in normalize_text(text or "").split("\n")).strip()

    print(f"{'library':38s} {'exact':>12s} {'near':>6s} {'exact+near':>11s}")
    for name, strip in libraries.items():
        exact = near = 0
        misses = []
        for stem, text, expected in cases:
            got, want = norm(strip(text)), norm(expected)
            if got == want:
                exact += 1
                continue
            ratio = difflib.SequenceMatcher(None, got, want).ratio()
            near += ratio >= 0.9
            misses.append((stem, ratio, got))
        print(f"{name:38s} {exact:>4d} ({exact / len(cases):4.0%}) {near:>6d} {(exact + near) / len(cases):>10.0%}")
        if args.misses and name.startswith(args.misses):
            for stem, ratio, got in misses:
                print(f"    {stem}: ratio {ratio:.2f}: {got[:200]!r}")


if __name__ == "__main__":
    sys.exit(main())
