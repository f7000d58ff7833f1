"""The survey form of a journey moment: its questions from the config, rendered as plain HTML.

The form asks the NPS question (``kind = "nps"``), the CSAT question (``kind = "csat"``), the
moment's driver questions (``questions`` of the moment in the journey) and a free comment; its
fields are named by question id (``ltr``, ``osat``, ``q_…``, ``comment``). Every scale is a
``fieldset`` of radio buttons with a ``legend`` and a visible label per answer (keyboard: Tab
to a scale, arrows to choose), the text is at least 4.5:1 against its background, the layout
fits a phone's width, and the page's language and fixed words are the config's
``[survey] language``. Everything shown from data (labels, a comment sent back after an error)
is escaped: a comment is text, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from earnright.config import Config, Question

__all__ = ["WORDS", "FormQuestion", "form_questions", "render_form", "render_message"]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your opinion", "intro": "Thank you for visiting {unit}. It takes a minute.",
        "low_nps": "0 = not at all likely", "high_nps": "10 = extremely likely",
        "low": "{min} = very poor", "high": "{max} = excellent",
        "comment": "Anything you would like to tell us? (optional)", "send": "Send",
        "thanks": "Thank you! Your answer was received.",
        "already": "This survey was already answered. Thank you, nothing was changed.",
        "expired": "This survey link has expired.", "invalid": "This survey link is not valid.",
        "errors": "Please check your answers:",
    },
    "fr": {
        "title": "Votre avis", "intro": "Merci de votre visite chez {unit}. Cela prend une minute.",
        "low_nps": "0 = pas du tout probable", "high_nps": "10 = très probable",
        "low": "{min} = très mauvais", "high": "{max} = excellent",
        "comment": "Souhaitez-vous nous dire quelque chose ? (facultatif)", "send": "Envoyer",
        "thanks": "Merci ! Votre réponse a été reçue.",
        "already": "Ce questionnaire a déjà reçu une réponse. Merci, rien n'a été modifié.",
        "expired": "Ce lien de questionnaire a expiré.",
        "invalid": "Ce lien de questionnaire n'est pas valide.",
        "errors": "Veuillez vérifier vos réponses :",
    },
    "de": {
        "title": "Ihre Meinung",
        "intro": "Danke für Ihren Besuch bei {unit}. Es dauert eine Minute.",
        "low_nps": "0 = sehr unwahrscheinlich", "high_nps": "10 = sehr wahrscheinlich",
        "low": "{min} = sehr schlecht", "high": "{max} = ausgezeichnet",
        "comment": "Möchten Sie uns noch etwas sagen? (freiwillig)", "send": "Senden",
        "thanks": "Danke! Ihre Antwort ist angekommen.",
        "already": "Diese Umfrage wurde bereits beantwortet. Danke, nichts wurde geändert.",
        "expired": "Dieser Umfragelink ist abgelaufen.",
        "invalid": "Dieser Umfragelink ist ungültig.", "errors": "Bitte prüfen Sie Ihre Antworten:",
    },
    "es": {
        "title": "Su opinión", "intro": "Gracias por visitar {unit}. Le llevará un minuto.",
        "low_nps": "0 = nada probable", "high_nps": "10 = muy probable",
        "low": "{min} = muy malo", "high": "{max} = excelente",
        "comment": "¿Quiere contarnos algo más? (opcional)", "send": "Enviar",
        "thanks": "¡Gracias! Recibimos su respuesta.",
        "already": "Esta encuesta ya fue respondida. Gracias, no se cambió nada.",
        "expired": "Este enlace de encuesta ha caducado.",
        "invalid": "Este enlace de encuesta no es válido.", "errors": "Revise sus respuestas:",
    },
    "nl": {
        "title": "Uw mening", "intro": "Bedankt voor uw bezoek aan {unit}. Het duurt een minuut.",
        "low_nps": "0 = zeer onwaarschijnlijk", "high_nps": "10 = zeer waarschijnlijk",
        "low": "{min} = zeer slecht", "high": "{max} = uitstekend",
        "comment": "Wilt u ons nog iets vertellen? (optioneel)", "send": "Versturen",
        "thanks": "Bedankt! Uw antwoord is ontvangen.",
        "already": "Deze enquête is al beantwoord. Bedankt, er is niets gewijzigd.",
        "expired": "Deze enquêtelink is verlopen.", "invalid": "Deze enquêtelink is niet geldig.",
        "errors": "Controleer uw antwoorden:",
    },
}  # fmt: skip

STYLE = (
    "body{font:17px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}"
    "main{max-width:40rem;margin:0 auto;padding:1rem}"
    "fieldset{border:1px solid #767676;border-radius:6px;margin:0 0 1rem;padding:.5rem .75rem}"
    "legend{font-weight:600;padding:0 .25rem}"
    ".scale{display:flex;flex-wrap:wrap;gap:.25rem}"
    ".scale label{display:inline-flex;align-items:center;justify-content:center;min-width:2.75rem;"
    "min-height:2.75rem;border:1px solid #767676;border-radius:6px;cursor:pointer}"
    ".scale input{position:absolute;opacity:0;width:1px;height:1px}"
    ".scale input:checked+span{font-weight:700;text-decoration:underline}"
    ".scale label:has(input:checked){background:#0b57d0;color:#fff;border-color:#0b57d0}"
    ".scale label:has(input:focus-visible){outline:3px solid #1a1a1a;outline-offset:2px}"
    ".ends{display:flex;justify-content:space-between;font-size:.9rem;color:#3b3b3b}"
    "textarea{width:100%;box-sizing:border-box;min-height:6rem;font:inherit;padding:.5rem;"
    "border:1px solid #767676;border-radius:6px}"
    "button{font:inherit;font-weight:600;color:#fff;background:#0b57d0;border:0;"
    "border-radius:6px;padding:.75rem 1.5rem;min-height:2.75rem;cursor:pointer}"
    "button:focus-visible,textarea:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}"
    ".errors{border:2px solid #b3261e;color:#8c1d18;border-radius:6px;padding:.5rem 1rem}"
)


@dataclass(frozen=True)
class FormQuestion:
    """One scale question of a form: its id (the field's name), label and scale."""

    id: str
    label: str
    kind: str
    min: int
    max: int


def _of(question: Question) -> FormQuestion:
    return FormQuestion(
        question.id, question.label or question.id, question.kind, int(question.min),
        int(question.max),
    )  # fmt: skip


def form_questions(config: Config, moment: str | None) -> list[FormQuestion]:
    """The scale questions of ``moment``'s form: NPS, CSAT, then the moment's drivers."""
    asked: list[FormQuestion] = []
    for kind in ("nps", "csat"):
        question = config.question_of_kind(kind)
        if question is not None:
            asked.append(_of(question))
    for stage in config.journey.stages:
        for m in stage.moments:
            if m.id != moment:
                continue
            for qid in m.questions:
                question = config.question(qid)
                if question is not None and qid not in {q.id for q in asked}:
                    asked.append(_of(question))
    return asked


def _page(lang: str, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _scale(q: FormQuestion, words: dict[str, str], chosen: str | None) -> str:
    low = words["low_nps"] if q.kind == "nps" else words["low"].format(min=q.min)
    high = words["high_nps"] if q.kind == "nps" else words["high"].format(max=q.max)
    options = []
    for value in range(q.min, q.max + 1):
        checked = " checked" if chosen == str(value) else ""
        options.append(
            f'<label><input type="radio" name="{escape(q.id)}" value="{value}"{checked}>'
            f"<span>{value}</span></label>"
        )
    return (
        f'<fieldset><legend id="{escape(q.id)}-legend">{escape(q.label)}</legend>'
        f'<div class="scale" role="radiogroup" aria-labelledby="{escape(q.id)}-legend">'
        f'{"".join(options)}</div><p class="ends"><span>{escape(low)}</span>'
        f"<span>{escape(high)}</span></p></fieldset>"
    )


def render_form(
    config: Config,
    questions: list[FormQuestion],
    *,
    action: str,
    unit_name: str,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
) -> str:
    """The form page posting to ``action``; ``values`` and ``errors`` when shown again."""
    lang = config.survey.language
    words = WORDS[lang]
    values = values or {}
    shown = ""
    if errors:
        items = "".join(f"<li>{escape(e)}</li>" for e in errors)
        said = escape(words["errors"])
        shown = f'<div class="errors" role="alert"><p>{said}</p><ul>{items}</ul></div>'
    scales = "".join(_scale(q, words, values.get(q.id)) for q in questions)
    comment = escape(values.get("comment", ""))
    body = (
        f"<h1>{escape(words['title'])}</h1>"
        f"<p>{escape(words['intro'].format(unit=unit_name))}</p>{shown}"
        f'<form method="post" action="{escape(action)}">{scales}'
        f'<p><label for="comment">{escape(words["comment"])}</label>'
        f'<textarea id="comment" name="comment" maxlength="4000">{comment}</textarea></p>'
        f'<p><button type="submit">{escape(words["send"])}</button></p></form>'
    )
    return _page(lang, f"{words['title']} · {config.company.name}", body)


def render_message(config: Config, key: str) -> str:
    """A page saying one thing: thanks, already answered, expired or not valid."""
    words = WORDS[config.survey.language]
    return _page(
        config.survey.language, words["title"], f'<h1 role="status">{escape(words[key])}</h1>'
    )
