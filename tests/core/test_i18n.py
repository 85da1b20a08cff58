"""Every user-facing string is translatable, and the nl, fr, de catalogues are complete."""

import re
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

import port2port

LOCALE = Path(port2port.__file__).parent / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
def test_catalogue_is_complete(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    assert len(catalogue) > 100
    missing = [e.msgid for e in catalogue if not e.translated() or "fuzzy" in e.flags]
    assert not missing, f"{language}: untranslated {missing[:5]}"
    for entry in catalogue:
        # as `msgfmt -c`: the singular form matches msgid, the other plural forms msgid_plural
        texts = [(entry.msgid, entry.msgstr)] + [
            (entry.msgid if n == 0 else entry.msgid_plural, text)
            for n, text in entry.msgstr_plural.items()
        ]
        for source, text in texts:
            if text:
                assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(text)), (
                    entry.msgid
                )


@pytest.mark.skipif(not shutil.which("xgettext"), reason="GNU gettext's xgettext is not installed")
def test_catalogues_hold_every_string_of_the_source(tmp_path):
    """Extract the strings anew and compare: a new string without a catalogue entry fails."""
    source = Path(port2port.__file__).parent
    files = [str(p) for p in source.rglob("*.py") if "migrations" not in p.parts]
    pot = tmp_path / "python.pot"
    subprocess.run(  # noqa: S603 - fixed arguments, our own files
        [
            shutil.which("xgettext"),
            "-L",
            "Python",
            "--from-code=UTF-8",
            "--keyword=_",
            "--keyword=gettext_lazy",
            "--keyword=gettext",
            "-o",
            str(pot),
            *files,
        ],
        check=True,
    )
    wanted = {e.msgid for e in polib.pofile(str(pot)) if e.msgid}
    have = {e.msgid for e in polib.pofile(str(LOCALE / "nl" / "LC_MESSAGES" / "django.po"))}
    assert not (wanted - have), f"run `make messages` and translate: {sorted(wanted - have)[:5]}"
