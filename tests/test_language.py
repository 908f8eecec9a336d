"""The language of a run: chosen from --lang, SECUREXCHANGE_LANG, the locale; Dutch when
asked for, English otherwise; names, exit codes and JSON the same in every language."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import click
import pytest
from babel.messages.extract import extract_from_dir

from cli_helpers import cli_env, run_cli
from municipal_flows import make_package, make_world, muni, person
from securexchange import i18n
from securexchange.cli import click_messages
from securexchange.cli.language import activate_for, lang_argument
from securexchange.cli.main import cli
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
    dutch = ("] terugmelding: ", "STAP  NAAM", "alle 24 stappen gelukt")
    english = ("] return: ", "STEP  NAME", "all 24 steps ok")
    shown, hidden = (dutch, english) if lang == "nl" else (english, dutch)
    assert all(text in result.stdout for text in shown), result.stdout
    assert not any(text in result.stdout for text in hidden), result.stdout


# Click's own messages (cli/click_messages.py) and --lang anywhere on the command line.


def _usage_error_cases(tmp_path: Path) -> list[tuple[list[str], str, str]]:
    """(argv, English message, Dutch message) of usage errors click itself finds."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n", encoding="utf-8")
    return [
        (
            ["municipality", "status", "--x"],
            "No such option '--x'.",
            "Onbekende optie '--x'.",
        ),
        (
            ["municipality", "import"],
            "Missing argument 'FILES...'.",
            "Ontbrekend argument 'FILES...'.",
        ),
        (  # a click.Path made before the language was chosen (the root's)
            ["--home", str(a_file), "municipality", "status"],
            f"Invalid value for '--home': Directory '{a_file}' is a file.",
            f"Ongeldige waarde voor '--home': Map '{a_file}' is een bestand.",
        ),
        (  # and one made when its command was imported, in the language of the run
            ["municipality", "open", "--out", str(a_file)],
            f"Invalid value for '--out': Directory '{a_file}' is a file.",
            f"Ongeldige waarde voor '--out': Map '{a_file}' is een bestand.",
        ),
        (
            ["municipality", "open", "--out"],
            "Option '--out' requires an argument.",
            "Optie '--out' verwacht 1 waarde.",
        ),
        (
            ["municipality", "status", "--jsn"],
            "No such option '--jsn'. Did you mean '--json'?",
            "Onbekende optie '--jsn'. Bedoelde u '--json'?",
        ),
        (
            ["municipality", "status", "now"],
            "Got unexpected extra argument (now)",
            "Onverwacht extra argument (now)",
        ),
        (
            ["municipality", "stat"],
            "No such command 'stat'. Did you mean 'status'?",
            "Onbekende opdracht 'stat'. Bedoelde u 'status'?",
        ),
    ]


def test_click_usage_errors_are_dutch_in_a_dutch_run_and_unchanged_in_english(
    tmp_path: Path,
) -> None:
    for argv, english, dutch in _usage_error_cases(tmp_path):
        in_english = run_cli(argv)
        assert (in_english.code, in_english.stderr) == (2, f"error: SX-USAGE: {english}\n")
        by_variable = run_cli(argv, env={"SECUREXCHANGE_LANG": "nl"})
        assert (by_variable.code, by_variable.stderr) == (2, f"fout: SX-USAGE: {dutch}\n")
        at = argv.index("municipality") + 1  # --lang on the group, before its command
        by_option = run_cli([*argv[:at], "--lang", "nl", *argv[at:]])
        assert (by_option.code, by_option.stderr) == (2, f"fout: SX-USAGE: {dutch}\n")


def test_click_words_in_help_pages_are_dutch_in_a_dutch_run_only() -> None:
    dutch = run_cli(["municipality", "init", "--help", "--lang", "nl"])
    assert dutch.stdout.startswith("Gebruik: securexchange municipality init [OPTIES]\n")
    assert "--role TEKST" in dutch.stdout and "[verplicht]" in dutch.stdout
    assert "Gebruik: securexchange [OPTIES] OPDRACHT [ARGUMENTEN]..." in (
        run_cli(["--lang", "nl", "--help"]).stdout
    )
    assert "--home MAP " in run_cli(["--lang", "nl", "--help"]).stdout
    english = run_cli(["municipality", "init", "--help"])
    assert english.stdout.startswith("Usage: securexchange municipality init [OPTIONS]\n")
    assert "--role TEXT" in english.stdout and "[required]" in english.stdout
    assert "--home DIRECTORY " in run_cli(["--help"]).stdout


def _click_routed(language: str) -> bool:
    """Whether a run in ``language`` routes click's lookups through our catalog."""
    code = (
        "import gettext, click.core, click.types, click.exceptions\n"
        "from securexchange.cli.language import activate_for\n"
        f"activate_for(['--lang', {language!r}], {{}})\n"
        "modules = (click.core, click.types, click.exceptions)\n"
        "print(all(m._ is not gettext.gettext for m in modules), "
        "click.exceptions.ngettext is not gettext.ngettext)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), check=True
    )
    return {"True True": True, "False False": False}[proc.stdout.strip()]


def test_only_a_dutch_run_touches_click() -> None:
    assert _click_routed("nl") is True
    assert _click_routed("en") is False


def test_a_routed_click_follows_the_active_language() -> None:
    try:
        activate_for(["--lang", "nl"], {})
        error = click.exceptions.NoSuchOption("--x")
        assert error.format_message() == "Onbekende optie '--x'."
        assert click.Path(file_okay=False).name == "map"
    finally:
        i18n.activate("en")
    assert click.exceptions.NoSuchOption("--x").format_message() == "No such option '--x'."
    assert click.Path(file_okay=False).name == "directory"


def _click_msgids() -> tuple[set[str], set[tuple[str, str]]]:
    """The gettext ids in the installed click's source: singular and counted."""
    singular: set[str] = set()
    counted: set[tuple[str, str]] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        Path(click.__file__).parent,
        method_map=[("*.py", "python")],
        keywords={"_": None, "ngettext": (1, 2)},
    ):
        if isinstance(message, tuple):
            counted.add((str(message[0]), str(message[1])))
        else:
            singular.add(message)
    return singular, counted


def test_every_click_message_we_translate_is_still_in_the_installed_click() -> None:
    # When this fails after an upgrade of click, its wording changed: update the id in
    # cli/click_messages.py, run scripts/catalogs.py and translate the new text.
    singular, counted = _click_msgids()
    assert [m for m in click_messages.MESSAGES if m not in singular] == []
    assert [p for p in click_messages.PLURALS if p not in counted] == []
    # The words click uses without gettext, as the installed click still uses them.
    required = click.Option(["--x"], required=True, help="X.")
    record = required.get_help_record(click.Context(click.Command("c")))
    assert record is not None and record[1].endswith(f"[{click_messages.LOOKED_UP[0]}]")
    type_names = {
        getattr(kind, "name", None)
        for kind in vars(click.types).values()
        if isinstance(kind, type) and issubclass(kind, click.ParamType)
    }
    assert set(click_messages.TYPE_NAMES) <= type_names
    assert click.STRING.name == "text" and click.INT.name == "integer"
    assert click.Command("c").options_metavar in click_messages.USAGE_WORDS
    assert click.Group("g").subcommand_metavar in click_messages.USAGE_WORDS
    # How click.Path names itself, which english_type_name repeats.
    for file_okay in (True, False):
        for dir_okay in (True, False):
            kind = click.Path(file_okay=file_okay, dir_okay=dir_okay)
            assert click_messages.english_type_name(kind) == kind.name


def test_lang_is_read_anywhere_before_the_separator_and_the_last_one_counts() -> None:
    assert lang_argument(["municipality", "status", "--lang", "nl"]) == "nl"
    assert lang_argument(["municipality", "status", "--json", "--lang=nl"]) == "nl"
    assert lang_argument(["--lang", "en", "municipality", "status", "--lang", "nl"]) == "nl"
    assert lang_argument(["--lang=nl", "keys", "--lang=en", "show"]) == "en"
    # Not a language: the value of another option (a file named --lang), left to click.
    argv = ["municipality", "import", "--passphrase-file", "--lang", "pkg.sxp"]
    assert lang_argument(argv) is None
    assert lang_argument(["--lang", "nl", *argv]) == "nl"
    assert lang_argument(["--lang", "fr"]) is None  # click refuses it (a usage error)
    assert lang_argument(["municipality", "import", "--lang", "nl", "--", "--lang", "en"]) == "nl"


def test_lang_after_the_command_chooses_the_language(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    dutch = run_cli(["--lang", "nl", "municipality", "status"], home=missing)
    assert dutch.stderr.startswith("fout: SX-NOT-FOUND: ")
    for argv in (
        ["municipality", "status", "--lang", "nl"],
        ["municipality", "status", "--lang=nl"],
        ["municipality", "--lang", "nl", "status"],
        ["--lang", "en", "municipality", "status", "--lang", "nl"],
    ):
        assert run_cli(argv, home=missing) == dutch, argv
    for argv in (["keys", "show", "--lang", "nl"], ["keys", "show", "--json", "--lang=nl"]):
        result = run_cli(argv, home=missing)
        assert result.stderr.startswith("fout: SX-NOT-FOUND: "), argv
    english = run_cli(["municipality", "status", "--lang", "en"], home=missing)
    by_variable = run_cli(
        ["municipality", "status"], home=missing, env={"SECUREXCHANGE_LANG": "nl"}
    )
    assert english.code == by_variable.code == dutch.code
    assert english.stderr.startswith("error: SX-NOT-FOUND: ")


def test_a_lang_that_is_the_value_of_another_option_is_that_options_value(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere"
    argv = ["municipality", "import", "--passphrase-file", "--lang", "pkg.sxp"]
    # click parses it (a passphrase file named --lang, one package): the command runs
    # and stops at the missing home, in the language of the run.
    assert "\nerror: SX-NOT-FOUND: " in "\n" + run_cli(argv, home=missing).stderr
    dutch = run_cli([*argv, "--lang", "nl"], home=missing)
    assert "\nfout: SX-NOT-FOUND: " in "\n" + dutch.stderr
    after_separator = run_cli(["municipality", "import", "--", "--lang", "nl"], home=missing)
    assert "\nerror: SX-NOT-FOUND: " in "\n" + after_separator.stderr


@pytest.mark.parametrize("argv", [["--lang", "fr"], ["--lang=de"], ["--lang", "NL"]])
def test_an_unknown_language_is_a_usage_error(argv: list[str]) -> None:
    value = argv[-1].rpartition("=")[2]
    for place in ([*argv, "municipality", "status"], ["municipality", "status", *argv]):
        result = run_cli(place)
        assert result.code == 2
        assert result.stderr == (
            f"error: SX-USAGE: Invalid value for '--lang': '{value}' is not one of 'nl', 'en'.\n"
        )
    dutch = run_cli(["keys", "show", *argv], env={"SECUREXCHANGE_LANG": "nl"})
    assert (dutch.code, dutch.stderr) == (
        2,
        f"fout: SX-USAGE: Ongeldige waarde voor '--lang': '{value}' is geen geldige keuze;"
        " kies uit 'nl', 'en'.\n",
    )
    assert run_cli(["municipality", "status", "--lang"]).stderr == (
        "error: SX-USAGE: Option '--lang' requires an argument.\n"
    )


def test_every_command_takes_lang_and_only_the_root_help_shows_it() -> None:
    def commands(group: click.Group, ctx: click.Context) -> list[click.Command]:
        found: list[click.Command] = []
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            found.append(command)
            if isinstance(command, click.Group):
                found += commands(command, click.Context(command, parent=ctx, info_name=name))
        return found

    every = commands(cli, click.Context(cli, info_name="securexchange"))
    assert len(every) > 20
    for command in every:
        lang = [p for p in command.params if isinstance(p, click.Option) and "--lang" in p.opts]
        assert len(lang) == 1 and lang[0].hidden, command.name
    root = " ".join(run_cli(["--help"]).stdout.split())
    assert "--lang [nl|en] Language of messages" in root and "after any command too" in root
    assert "--lang [nl|en]" not in run_cli(["municipality", "status", "--help"]).stdout


def test_help_lists_options_only_and_names_arguments_in_the_usage_line() -> None:
    shown = run_cli(["--lang", "nl", "municipality", "import", "--help"])
    usage, options = shown.stdout.split("Opties:")
    assert "FILES..." in usage and "FILES" not in options
