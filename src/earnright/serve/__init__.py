"""``earnright serve``: the report's pages and a REST API for each signed-in person's scope.

:mod:`~earnright.serve.app` builds the ASGI app (``create_app``); :mod:`~earnright.serve.scope`
decides what a person sees; :mod:`~earnright.serve.services` is every read and write, through a
scope; :mod:`~earnright.serve.users` holds people, tokens, sessions and the audit log;
:mod:`~earnright.serve.pages` and :mod:`~earnright.serve.rest` are the thin routes. See
docs/serve.md.
"""

__all__ = ["app", "auth", "layout", "pages", "rest", "scope", "services", "site_cache", "users"]
