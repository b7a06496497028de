"""The web app: server-rendered pages for delegators, operators and buyers, served by the API app.

``install(app)`` (in :mod:`backend.web.api`) adds the pages, the static assets (the browser module built by
``make web`` from ``frontend/``), the offline ``/docs`` and ``/redoc``, and the content negotiation that lets a
browser open ``/nodes/{node}`` and ``/epochs`` as pages while API clients get JSON at the same paths.
"""
