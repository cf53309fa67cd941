"""Hospital submission pipeline (database-free): intake, parsing, mapping, personal-data
guard, validation and harmonisation. See docs/pipeline.md.

Django models, Celery tasks and the loader build on :func:`process_file`.
"""

from .errors import FileErrorCode, PipelineFileError
from .limits import Limits
from .process import Options, iter_outcomes, process_file
from .types import (
    ColumnMapping,
    Field,
    FileFormat,
    HarmonisedRow,
    Issue,
    ProcessResult,
    Report,
    ReportJSON,
)

__all__ = [
    "ColumnMapping",
    "Field",
    "FileErrorCode",
    "FileFormat",
    "HarmonisedRow",
    "Issue",
    "Limits",
    "Options",
    "PipelineFileError",
    "ProcessResult",
    "Report",
    "ReportJSON",
    "iter_outcomes",
    "process_file",
]
