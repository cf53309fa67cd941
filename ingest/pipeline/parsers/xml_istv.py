"""ISTV XML parser: header (reporting period, site code) + repeated assault records.

The element names of the national schema are unverified, so they live in an
:class:`XmlLayout` (a mapping profile can carry its own). The XSD is generated from the
layout, so the structural check always matches the configured names.

Safety: the document is checked with defusedxml's rules, DTDs forbidden, which also
refuses entity declarations (billion laughs) and external entities (XXE); only a
document that passes is built into a tree. Only after that does
``xmlschema`` validate the already-parsed tree, so xmlschema never reads untrusted
bytes itself.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import NoReturn
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

import xmlschema
from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from ..errors import FileErrorCode as E
from ..errors import PipelineFileError
from ..types import Cell, ColumnMapping, Field, FileFormat, FileHeader, ParsedFile, RawRow


@dataclass(frozen=True, slots=True)
class XmlLayout:
    """Element names of an ISTV XML submission (configurable per source)."""

    root: str = "ISTVSubmission"
    header: str = "SubmissionHeader"
    period_start: str = "ReportingPeriodStartDate"
    period_end: str = "ReportingPeriodEndDate"
    site_code: str = "SiteCode"
    record: str = "AssaultRecord"
    # Record child element for each standard field, in schema order.
    fields: tuple[tuple[Field, str], ...] = field(
        default=(
            (Field.ARRIVAL_AT, "ArrivalDateTime"),
            (Field.ASSAULT_AT, "AssaultDateTime"),
            (Field.METHOD, "AssaultMethod"),
            (Field.METHOD_OTHER, "AssaultMethodOtherDescription"),
            (Field.LOCATION_TYPE, "AssaultLocationType"),
            (Field.LOCATION_DESCRIPTION, "AssaultLocationDescription"),
        )
    )

    def mapping(self) -> ColumnMapping:
        """The column mapping implied by the layout (columns are element names)."""
        return ColumnMapping(columns=dict(self.fields))


DEFAULT_LAYOUT = XmlLayout()

_XSD_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:simpleType name="SiteCode">
    <xs:restriction base="xs:string">
      <xs:minLength value="3"/><xs:maxLength value="12"/>
      <xs:pattern value="[A-Za-z0-9]+"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Text">
    <xs:restriction base="xs:string"><xs:maxLength value="4000"/></xs:restriction>
  </xs:simpleType>
  <xs:element name="{root}">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="{header}">
          <xs:complexType>
            <xs:all>
              <xs:element name="{period_start}" type="xs:date"/>
              <xs:element name="{period_end}" type="xs:date"/>
              <xs:element name="{site_code}" type="SiteCode"/>
            </xs:all>
          </xs:complexType>
        </xs:element>
        <xs:element name="{record}" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:all>
{record_fields}
            </xs:all>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def xsd_text(layout: XmlLayout = DEFAULT_LAYOUT) -> str:
    """The XSD for a layout. Record children are optional strings: a missing or malformed
    value is a row-level problem (set aside with a reason), not a whole-file one."""
    record_fields = "\n".join(
        f'              <xs:element name="{name}" type="Text" minOccurs="0"/>'
        for _, name in layout.fields
    )
    return _XSD_TEMPLATE.format(
        root=layout.root,
        header=layout.header,
        period_start=layout.period_start,
        period_end=layout.period_end,
        site_code=layout.site_code,
        record=layout.record,
        record_fields=record_fields,
    )


@lru_cache(maxsize=32)
def _schema(layout: XmlLayout) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(xsd_text(layout))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, *_: object) -> NoReturn:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(
    name: str,
    _: bool,  # a parameter entity
    value: str | None,
    base: str | None,
    sysid: str,
    pubid: str | None,
    notation: str | None,
) -> NoReturn:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed(
    name: str, base: str | None, sysid: str, pubid: str | None, notation: str
) -> NoReturn:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(
    context: str, base: str | None, sysid: str | None, pubid: str | None
) -> NoReturn:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _check_safe(data: bytes) -> None:
    """Run expat over the document as ``defusedxml.ElementTree.fromstring`` does (same
    parser settings, the same two ``Parse`` calls, its refusing handlers, its
    ``ParseError``), but with no other handler: nothing is built, so it runs at C speed,
    and raises what defusedxml would."""
    parser = expat.ParserCreate(None, "}")
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed
    parser.ExternalEntityRefHandler = _forbid_external
    try:
        parser.Parse(data, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        err = ParseError(exc)
        err.code = exc.code
        err.position = exc.lineno, exc.offset
        raise err from None


def safe_parse(data: bytes) -> Element:
    """Parse untrusted XML, refusing DTDs, entities and external references.

    The document is first checked as defusedxml checks it (:func:`_check_safe`); only a
    document without a DTD is then built, by ElementTree's C parser (with no DTD there
    is no entity to expand or fetch), which is several times faster than defusedxml's
    pure-Python parser building the same tree."""
    try:
        _check_safe(data)
        return ET.fromstring(data)  # noqa: S314 - checked above: no DTD, so no entities
    except DefusedXmlException as exc:
        raise PipelineFileError(
            E.XML_FORBIDDEN,
            "The XML file contains a document type declaration or entities; these are "
            "refused for safety. Export the file without a DOCTYPE.",
        ) from exc
    except ParseError as exc:
        pos = getattr(exc, "position", None)
        where = f" (line {pos[0]}, column {pos[1]})" if pos else ""
        raise PipelineFileError(
            E.XML_MALFORMED, f"The XML file is not well-formed{where}."
        ) from exc


def parse_xml(data: bytes, *, layout: XmlLayout = DEFAULT_LAYOUT) -> ParsedFile:
    root = safe_parse(data)
    for el in root.iter():  # namespaces are accepted but not required
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = _local(el.tag)
    if root.tag != layout.root:
        raise PipelineFileError(
            E.XML_WRONG_ROOT,
            f"The XML root element is <{root.tag[:60]}>, expected <{layout.root}>.",
        )
    errors = _record_errors(root, layout)
    # xmlschema is thorough but slow (~1 ms per record). The XSD is applied to the
    # header and the first records; the record rule of the same XSD (known child
    # elements, each at most once, text only, bounded length) is enforced for every
    # record by _record_errors, so the whole document is held to the schema.
    skeleton = Element(root.tag, root.attrib)
    for i, child in enumerate(root):
        if i > XSD_FULL_RECORDS:
            break
        skeleton.append(child)
    for err in _schema(layout).iter_errors(skeleton):
        path = err.path or ""
        errors.append(f"{path}: {err.reason}" if err.reason else path)
        if len(errors) >= 20:
            break
    if errors:
        raise PipelineFileError(
            E.XML_SCHEMA_INVALID,
            "The XML file does not match the ISTV schema.",
            details=[_scrub(e) for e in errors],
        )
    hdr = root.find(layout.header)
    assert hdr is not None  # guaranteed by the schema
    header = FileHeader(
        site_code=(hdr.findtext(layout.site_code) or "").strip().upper() or None,
        period_start=date.fromisoformat((hdr.findtext(layout.period_start) or "").strip()[:10]),
        period_end=date.fromisoformat((hdr.findtext(layout.period_end) or "").strip()[:10]),
    )
    columns = [name for _, name in layout.fields]

    def records() -> Iterator[RawRow]:
        for i, rec in enumerate(root.iterfind(layout.record), start=1):
            values: dict[str, Cell] = dict.fromkeys(columns)
            for child in rec:
                text = (child.text or "").strip()
                values[child.tag] = text or None
            yield i, values

    return ParsedFile(format=FileFormat.XML, columns=columns, rows=records(), header=header)


XSD_FULL_RECORDS = 2
_MAX_TEXT = 4000  # the XSD's Text maxLength


def _record_errors(root: Element, layout: XmlLayout) -> list[str]:
    allowed = {name for _, name in layout.fields}
    errors: list[str] = []
    for i, rec in enumerate(root.iterfind(layout.record), start=1):
        seen: set[str] = set()
        for child in rec:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag not in allowed:
                errors.append(
                    f"/{layout.root}/{layout.record}[{i}]: unexpected element <{tag[:60]}>"
                )
            elif tag in seen:
                errors.append(f"/{layout.root}/{layout.record}[{i}]: <{tag}> appears twice")
            elif len(child) or len(child.text or "") > _MAX_TEXT:
                errors.append(
                    f"/{layout.root}/{layout.record}[{i}]/{tag}: must be text of at "
                    f"most {_MAX_TEXT} characters"
                )
            seen.add(tag)
        if len(errors) >= 20:
            break
    return errors


def _scrub(message: str) -> str:
    """Keep schema messages about structure; never echo element text (may be personal)."""
    return message.split("Reason:")[0][:300].replace("\n", " ")
