"""What the CLI's text output must never show, shared by the CLI tests."""

from __future__ import annotations

import re

#: A float printed with more digits than float32 holds (9 significant), or a large
#: figure as an exponent (``2.664e+05``) where a plain figure reads better.
NOISE = re.compile(r"\d\.\d{9,}|\d(?:\.\d+)?e\+\d+")
