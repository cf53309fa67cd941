"""Streaming exports of incident data (CSV, XLSX, GeoJSON), their data dictionary,
manifest and zip package. Database-free: callers pass rows and decide the fields.

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
    FORMULA_PREFIXES,
    CsvExport,
    ExportNotFinished,
    ExportStream,
    GeoJsonExport,
    HashedStream,
    XlsxExport,
    neutralise,
)

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
