"""The survey customers answer (docs/survey.md): personal links, the form, submissions, reminders,
response rates and detractors' cases. No web framework here: the routes live in
``earnright.serve.survey_routes`` and call these functions.

- ``tokens``: signed, expiring link tokens; the secret kept in the warehouse;
- ``form``: the questions of a moment's form and its HTML, in the config's language;
- ``invitations``: the invitations a token names, answered or not;
- ``submission``: answers checked by the feedback ingestion rules and written once;
- ``links``: links of open invitations, reminders through the outbox, response rates;
- ``cases``: a detractor's case, its alert to the store's manager, its follow-ups.
"""

from earnright.survey.cases import list_cases, manager_of, open_case, record_followup
from earnright.survey.form import form_questions, render_form, render_message
from earnright.survey.invitations import (
    Invitation,
    answered_among,
    find_invitations,
    open_invitation,
)
from earnright.survey.links import link_url, response_rates, send_reminders, survey_links
from earnright.survey.submission import Submission, SubmitResult, submit_answer, submit_answers
from earnright.survey.tokens import link_secret, sign_token, verify_token

__all__ = [
    "Invitation",
    "Submission",
    "SubmitResult",
    "answered_among",
    "find_invitations",
    "form_questions",
    "link_secret",
    "link_url",
    "list_cases",
    "manager_of",
    "open_case",
    "open_invitation",
    "record_followup",
    "render_form",
    "render_message",
    "response_rates",
    "send_reminders",
    "sign_token",
    "submit_answer",
    "submit_answers",
    "survey_links",
    "verify_token",
]
