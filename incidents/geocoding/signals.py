"""Signals of the geocoder, for the layers above it.

``alias_learned`` is sent inside a reviewer's decision, in its transaction, with the new
``alias``. A receiver returns how many stored rows it updated; the decision's audit event
records the sum. The submission journey (``ingest``) connects the receiver that re-geocodes
the incident rows that used the phrase.
"""

from django.dispatch import Signal

alias_learned = Signal()
