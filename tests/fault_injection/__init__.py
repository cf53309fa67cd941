"""A test-only app: pauses a worker at a known point of loading, so the worker fault tests
can look at (or kill) a worker with rows staged but not committed.

The test settings install it; it connects to ``ingest.signals.load_progress`` and sleeps
``ISTV_TEST_SUBMISSION_DELAY`` seconds (read from the worker's environment) at each batch
and once the rows are staged. With the variable unset it does nothing.
"""
