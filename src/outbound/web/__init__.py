"""The web UI: server-rendered pages (Jinja2) with htmx and Chart.js served from ``static/``.

Pages call the same services as the API and reuse its schemas; see ``README.md`` beside this
file for how to add a page, a form and a browser test.
"""
