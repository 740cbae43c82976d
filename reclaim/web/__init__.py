"""The survivor portal's pages and what they serve: templates, static assets (the
in-browser hasher, ``static/pdq.js``), translations."""
