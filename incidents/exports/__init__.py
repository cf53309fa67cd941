"""Streaming exports of incident data (CSV, XLSX, GeoJSON), their data dictionary,
manifest and zip package. Database-free: callers pass rows and decide the fields; the
exceptions are the ``Sql*Export`` streams of ``sql_lines`` and ``sql_xlsx``, which have
PostgreSQL write the records of a SELECT. The HTTP
response of a download, which writes its audit events, is ``responses.stream_response``
(imported from its module, not from here).

See docs/disclosure-and-exports.md.
"""

from incidents.exports.fields import (
    INCIDENT_FIELDS,
    FieldSpec,
    data_dictionary,
    data_dictionary_csv,
)
from incidents.exports.manifest import Manifest, Recipient, build_manifest, manifest_json
from incidents.exports.package import ZipPackage
from incidents.exports.streams import (
    EXPORT_FORMATS,
    CsvExport,
    ExportNotFinished,
    ExportStream,
    GeoJsonExport,
    HashedStream,
    XlsxExport,
)
from istv_portal.spreadsheet import FORMULA_PREFIXES, neutralise

__all__ = [
    "EXPORT_FORMATS",
    "FORMULA_PREFIXES",
    "INCIDENT_FIELDS",
    "CsvExport",
    "ExportNotFinished",
    "ExportStream",
    "FieldSpec",
    "GeoJsonExport",
    "HashedStream",
    "Manifest",
    "Recipient",
    "XlsxExport",
    "ZipPackage",
    "build_manifest",
    "data_dictionary",
    "data_dictionary_csv",
    "manifest_json",
    "neutralise",
]
