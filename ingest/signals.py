"""Signals of the submission journey, for whatever wants to watch it.

``load_progress`` is sent while a version is loaded, inside its transaction: with
``stage="batch"`` after each COPY batch (``rows`` sent so far) and ``stage="staged"`` once
every row is staged and before the transaction commits. Nothing in the portal needs it to
work; the worker fault tests connect a receiver to pause a worker at a known point.
"""

from django.dispatch import Signal

load_progress = Signal()
