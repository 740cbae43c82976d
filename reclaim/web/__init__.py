"""The survivor portal: pages (``pages``), their safety (``security``), languages
(``i18n``), templates, translations, and static assets: the page's script and the
in-browser hashers (``static/pdq.js``, ``keypoints.js``, ``digests.js``)."""
