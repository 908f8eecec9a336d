"""The "Toelichting" sheet's text: what each status and each quality choice means.

Plain Dutch (B1) for the civil servants who fill in the staff workbook, with an English
version beside it, as the project keeps its English messages (``HelpText.en``). The
meanings follow the protocol with the Agentschap Integratie en Inburgering: the
municipality returns only the status of the activity in the participation trajectory
(art. 2) and reports data that is wrong, incomplete or out of date (art. 7).

Pure data: no I/O, no openpyxl.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_OUTCOMES, QUALITY_PROBLEMS


@dataclass(frozen=True)
class HelpText:
    """One explanation in Dutch (shown in the workbook) and English."""

    nl: str
    en: str


STATUS_HELP: Mapping[str, HelpText] = {
    "nog niet gecontacteerd": HelpText(
        "U hebt nog geen contact gehad met deze persoon. Zo staat elke nieuwe persoon in de lijst.",
        "You have not contacted this person yet. Every new person starts here.",
    ),
    "gecontacteerd": HelpText(
        "U hebt contact gehad met de persoon (telefoon, mail of gesprek), maar er is nog "
        "geen activiteit gekozen.",
        "You have been in touch (phone, e-mail or a meeting); no activity chosen yet.",
    ),
    "toegeleid": HelpText(
        "U hebt de persoon naar een activiteit doorverwezen. De activiteit is nog niet begonnen.",
        "You referred the person to an activity that has not started yet.",
    ),
    "gestart": HelpText(
        "De persoon neemt deel aan de activiteit.",
        "The person takes part in the activity.",
    ),
    "afgerond": HelpText(
        "De persoon heeft de activiteit beëindigd zoals gepland.",
        "The person finished the activity as planned.",
    ),
    "gestopt": HelpText(
        "De persoon is met de activiteit gestopt voor het einde.",
        "The person stopped the activity before its end.",
    ),
    "niet bereikbaar": HelpText(
        "U hebt de persoon meerdere keren geprobeerd te bereiken, zonder resultaat.",
        "You tried to reach the person several times, without success.",
    ),
    "geen interesse": HelpText(
        "De persoon wil niet deelnemen aan een activiteit.",
        "The person does not want to take part in an activity.",
    ),
}

PROBLEM_HELP: Mapping[str, HelpText] = {
    "foutief": HelpText(
        "Het gegeven is fout (bijvoorbeeld een verkeerd telefoonnummer).",
        "The value is wrong (for example a wrong phone number).",
    ),
    "onnauwkeurig": HelpText(
        "Het gegeven klopt bijna, maar niet helemaal (bijvoorbeeld een tikfout in de straatnaam).",
        "The value is nearly right but not exactly (for example a typo in the street).",
    ),
    "onvolledig": HelpText(
        "Er ontbreekt een deel van het gegeven (bijvoorbeeld geen huisnummer).",
        "Part of the value is missing (for example no house number).",
    ),
    "ontbrekend": HelpText(
        "Het gegeven is leeg, maar zou ingevuld moeten zijn.",
        "The value is empty but should be filled in.",
    ),
    "verouderd": HelpText(
        "Het gegeven was juist, maar is niet meer juist (bijvoorbeeld de persoon is verhuisd).",
        "The value was right but no longer is (for example the person moved).",
    ),
    "overtollig": HelpText(
        "Het gegeven is ingevuld, maar hoort er niet bij of is niet nodig.",
        "The value is filled in but does not belong there or is not needed.",
    ),
}

# The introduction of the problems in layout 3, where each reportable field has its own
# quality column ("Melding Telefoon", ...) and that column says which field is meant.
QUALITY_INTRO_PER_FIELD = HelpText(
    "Elk gegeven heeft een eigen kolom 'Melding ...' (bijvoorbeeld 'Melding Telefoon'). "
    "Is dat gegeven niet juist, kies dan in die kolom wat er mis is; laat de cel leeg als "
    "het gegeven klopt. U mag op één rij meerdere gegevens melden.",
    "Each field has its own column 'Melding ...' (for example 'Melding Telefoon'). If that "
    "field is not right, pick what is wrong in that column; leave the cell empty when the "
    "field is right. One row may report several fields.",
)

OUTCOME_HELP: Mapping[str, HelpText] = {
    "gecorrigeerd": HelpText(
        "Het Agentschap heeft het gegeven verbeterd.",
        "The agency corrected the value.",
    ),
    "correct-bevonden": HelpText(
        "Het Agentschap heeft het gegeven nagekeken: het is juist.",
        "The agency checked the value: it is right.",
    ),
    "ingetrokken": HelpText(
        "De melding is ingetrokken.",
        "The report was withdrawn.",
    ),
}

# Every value of the closed lists has its explanation (checked at import, as the widths are).
if (
    set(STATUS_HELP) != set(ACTIVITY_STATUSES.values)
    or set(PROBLEM_HELP) != set(QUALITY_PROBLEMS.values)
    or set(OUTCOME_HELP) != set(QUALITY_OUTCOMES.values)
):
    raise RuntimeError("the workbook's explanations and the lists disagree")
