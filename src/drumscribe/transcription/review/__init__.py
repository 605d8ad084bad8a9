"""The review page's template (``page.html``, ``page.css``, ``page.js``: package data, inlined by
:mod:`drumscribe.transcription.review_page`) and :mod:`.browser`, the headless-Chromium driver of its tests and
bench (development only: selenium and Chromium are not dependencies of the package)."""
