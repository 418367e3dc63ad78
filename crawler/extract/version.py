"""Which extractor produced a stored text.

Bump `EXTRACTOR_VERSION` whenever a change to extraction (heuristics, cleaning, site rules'
handling, text normalization) can change the title or text extracted from an unchanged page.
Every stored version records the value it was extracted with; the first check of an article
under a new value re-baselines it silently instead of announcing the difference as an edit
(see `crawler.recorder`). Versions stored before this number existed count as 1.

Read it as `version.EXTRACTOR_VERSION` at the time of use (not `from ... import`), so a test
can change it between two passes.
"""

from __future__ import annotations

EXTRACTOR_VERSION: int = 5
