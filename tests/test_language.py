"""The language of a run: chosen from --lang, SECUREXCHANGE_LANG, the locale; Dutch when
asked for, English otherwise; names, exit codes and JSON the same in every language."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cli_helpers import run_cli
from municipal_flows import make_package, make_world, muni, person
from securexchange import i18n
from securexchange.cli.language import activate_for, lang_argument
from securexchange.i18n import choose_language, long_date


@pytest.mark.parametrize(
    ("option", "env", "system", "chosen"),
    [
        ("nl", {"SECUREXCHANGE_LANG": "en"}, "en_US", "nl"),  # --lang first
        ("en", {"SECUREXCHANGE_LANG": "nl"}, "nl_BE", "en"),
        (None, {"SECUREXCHANGE_LANG": "nl"}, "en_US", "nl"),  # then the variable
        (None, {"SECUREXCHANGE_LANG": "nl_BE.UTF-8"}, None, "nl"),
        (None, {"SECUREXCHANGE_LANG": "EN-gb"}, "nl_BE", "en"),
        (None, {"SECUREXCHANGE_LANG": "fr"}, "nl_BE", "nl"),  # unknown: the locale decides
        (None, {"LC_ALL": "nl_BE.UTF-8"}, None, "nl"),  # then the POSIX locale variables
        (None, {"LC_ALL": "C", "LANG": "nl_BE.UTF-8"}, None, "nl"),
        (None, {"LC_MESSAGES": "en_GB.UTF-8", "LANG": "nl_BE.UTF-8"}, None, "en"),
        (None, {}, "Dutch_Belgium", "nl"),  # Windows reports its locale this way
        (None, {}, "nl_NL", "nl"),
        (None, {}, "English_United States", "en"),
        (None, {}, "C", "en"),
        (None, {}, None, "en"),  # nothing known: English
    ],
)
def test_the_language_is_the_option_then_the_variable_then_the_locale_then_english(
    option: str | None, env: dict[str, str], system: str | None, chosen: str
) -> None:
    assert choose_language(option, env, system) == chosen


def test_the_lang_option_is_found_before_click_parses_anything() -> None:
    assert lang_argument(["--lang", "nl", "municipality", "status"]) == "nl"
    assert lang_argument(["municipality", "--lang=en", "status"]) == "en"
    assert lang_argument(["municipality", "status", "--", "--lang", "nl"]) is None
    assert lang_argument(["--lang"]) is None


def test_english_reads_no_catalog_and_dutch_reads_it_once() -> None:
    try:
        assert activate_for(["--help"], {"SECUREXCHANGE_LANG": "en"}) == "en"
        assert type(i18n._Active.translations).__name__ == "NullTranslations"
        assert activate_for(["--lang", "nl"], {}) == "nl"
        assert i18n._("error") == "fout"
    finally:
        i18n.activate("en")
    assert i18n._("error") == "error"


def test_dates_are_written_as_people_write_them_in_each_language(dutch: None) -> None:
    assert long_date(date(2027, 3, 1)) == "1 maart 2027"
    i18n.activate("en")
    assert long_date(date(2027, 3, 1)) == "1 March 2027"


def test_an_error_keeps_its_name_and_exit_code_and_only_its_words_change(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    english = run_cli(["municipality", "status"], home=missing)
    dutch = run_cli(["--lang", "nl", "municipality", "status"], home=missing)
    assert english.code == dutch.code != 0
    assert english.stderr.startswith("error: SX-NOT-FOUND: ")
    assert dutch.stderr.startswith("fout: SX-NOT-FOUND: ")
    by_variable = run_cli(
        ["municipality", "status"], home=missing, env={"SECUREXCHANGE_LANG": "nl"}
    )
    assert by_variable.stderr == dutch.stderr


def test_help_is_dutch_when_dutch_is_chosen() -> None:
    dutch = run_cli(["--lang", "nl", "--help"])
    assert "Opdrachten:" in dutch.stdout and "Toon deze hulp en stop." in dutch.stdout
    english = run_cli(["--help"])
    assert "Commands:" in english.stdout and "Opdrachten" not in english.stdout


def test_json_is_the_same_in_every_language_and_the_text_is_not(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2027, 6, 1))])
    assert muni(world, "import", str(made.path)).code == 0
    docs = {
        lang: run_cli(["--lang", lang, "municipality", "status", "--json"], home=world.staff)
        for lang in ("en", "nl")
    }
    assert docs["en"].code == docs["nl"].code == 0
    english, dutch = (json.loads(docs[lang].stdout) for lang in ("en", "nl"))
    for doc in (english, dutch):  # the two runs are a second apart
        doc.pop("now"), doc.pop("last_shred")
    assert english == dutch
    text = {
        lang: run_cli(["--lang", lang, "municipality", "status"], home=world.staff).stdout
        for lang in ("en", "nl")
    }
    assert "1 June 2027" in text["en"] and "1 juni 2027" in text["nl"]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_demo_runs_in_each_language(lang: str, tmp_path: Path) -> None:
    result = run_cli(["--lang", lang, "demo", "--dir", str(tmp_path / "demo")], timeout=300)
    assert result.code == 0, result.stderr[-3000:]
    assert "all 21 steps ok" in result.stdout
