"""The free-text guard: each kind of personal data redacted, places of assault kept.

The examples are synthetic: invented names and numbers (NHS numbers in the 999 test range
or invented CHI-style numbers, Ofcom drama phone numbers), real London places.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.geocoding.classify import is_home
from incidents.geocoding.normalise import normalise_query
from ingest.pipeline.harmonise import clean_text
from ingest.pipeline.pii import HOME_ADDRESS, REDACTED, redact
from ingest.pipeline.validation import safe_value

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "pii_corpus.jsonl"

# The reported leaks, verbatim: (text, values that must go, kind reported).
FAULT_EXAMPLES = [
    ("NHS no 0726240125", ["0726240125"], "nhs_number"),
    ("MRN 12345678", ["12345678"], "hospital_number"),
    ("hosp no RJ1-4567890", ["RJ1-4567890", "4567890"], "hospital_number"),
    ("pt home address 12 Acre Lane SW2 5SG", ["12 Acre Lane", "SW2 5SG"], "address"),
    ("at home SE1 7EH", ["SE1 7EH"], "address"),
    ("assaulted by her partner John Smith", ["John", "Smith"], "person_name"),
    ("pt's mum Sharon called 999", ["Sharon"], "person_name"),
]


@pytest.mark.parametrize(("text", "values", "kind"), FAULT_EXAMPLES)
def test_fault_examples_are_redacted(text: str, values: list[str], kind: str) -> None:
    out, kinds = redact(text)
    for value in values:
        assert value not in out
    assert kind in kinds


def test_fault_examples_exact_output() -> None:
    assert redact("NHS no 0726240125")[0] == f"NHS no {REDACTED}"
    assert redact("MRN 12345678")[0] == f"MRN {REDACTED}"
    assert redact("hosp no RJ1-4567890")[0] == f"hosp no {REDACTED}"
    assert redact("pt home address 12 Acre Lane SW2 5SG")[0] == f"pt home address {HOME_ADDRESS}"
    assert redact("at home SE1 7EH")[0] == f"at home {HOME_ADDRESS}"
    assert redact("assaulted by her partner John Smith")[0] == (
        f"assaulted by her partner {REDACTED}"
    )
    assert redact("pt's mum Sharon called 999")[0] == f"pt's mum {REDACTED} called 999"


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        # NHS and CHI numbers, whatever the check digit, with or without a word before.
        ("NHS 943 476 5919", "943 476 5919", "nhs_number"),
        ("nhs number: 999-000-0026 o/s Brixton stn", "999-000-0026", "nhs_number"),
        ("CHI 1203873456", "1203873456", "nhs_number"),
        ("o/s Peckham Rye stn 9990000026", "9990000026", "nhs_number"),
        ("Peckham Rye stn 0726240125", "0726240125", "nhs_number"),  # passes the check
        ("Peckham Rye stn 0207946001", "0207946001", "phone"),  # fails it: a phone shape
        # Hospital numbers.
        ("MRN: K280876 on Rye Lane", "K280876", "hospital_number"),
        ("MRN RJZ 1234567", "RJZ 1234567", "hospital_number"),
        ("Hosp No: H7654321", "H7654321", "hospital_number"),
        ("unit no 456789", "456789", "hospital_number"),
        ("pt ID#: 00456789", "00456789", "hospital_number"),
        ("K1234567 o/s the Albert", "K1234567", "hospital_number"),
        # Phones.
        ("call 07700 900123", "07700 900123", "phone"),
        ("mum's mob +44 7700 900 555", "7700 900 555", "phone"),
        ("tel (020) 7946 0000", "7946 0000", "phone"),
        ("0161 496 0123 Brixton", "496 0123", "phone"),
        # National Insurance numbers.
        ("NI no QQ 12 34 56 C", "QQ 12 34 56 C", "ni_number"),
        ("Brixton stn ab123456c", "ab123456c", "ni_number"),
        # E-mail.
        ("contact kevin.doyle@example.com", "kevin.doyle@example.com", "email"),
        # Any other run of 7+ digits.
        ("Camberwell Green crime ref 1234/5678901", "5678901", "identifier"),
        ("outside KFC 12345678", "12345678", "identifier"),
        ("ref 1234 5678 Walworth Road", "1234 5678", "identifier"),
    ],
)
def test_identifiers(text: str, value: str, kind: str) -> None:
    out, kinds = redact(text)
    assert value not in out
    digits = re.sub(r"\D", "", value)
    assert not digits or digits not in re.sub(r"\D", "", out)
    assert kind in kinds


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3rd March 1987", "3rd March 1987"),
        ("d.o.b. 3/3/87", "3/3/87"),
        ("DOB 01/02/1990 at home", "01/02/1990"),
        ("dob: 14.02.99 o/s Arsenal stadium", "14.02.99"),
        ("date of birth 7 September 1990", "7 September 1990"),
        ("born March 3rd, 1987", "March 3rd, 1987"),
        ("pt (DOB 1987-03-03) Clapham Common", "1987-03-03"),
        ("d.o.b 03-Mar-1987", "03-Mar-1987"),
        ("DOB 2003", "2003"),
        ("b. 12 Nov 02 Stratford", "12 Nov 02"),
        ("outside Greggs 12/11/1979", "12/11/1979"),  # an old full date, no birth word
    ],
)
def test_dates_of_birth(text: str, value: str) -> None:
    out, kinds = redact(text)
    assert value not in out
    assert kinds == ["date_of_birth"]


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("lives at 7 Coldharbour Lane", ["7 Coldharbour Lane"]),
        ("pt's flat, 41b Rye Lane SE15 4ST", ["41b Rye Lane", "SE15 4ST"]),
        ("home - Flat 12, 59 Denmark Hill", ["Flat 12", "59 Denmark Hill"]),
        ("12 Acre Lane SW2 5SG (pt's home)", ["12 Acre Lane", "SW2 5SG"]),
        ("resides 14 Coldharbour Lane, Brixton, SW9 8PR", ["14 Coldharbour Lane", "SW9 8PR"]),
        ("at his house, 3 Amersham Grove", ["3 Amersham Grove"]),
        ("pt lives in SE15", ["SE15"]),
        ("HOME ADDRESS 22 WALWORTH ROAD SE17 1RW", ["22 Walworth Road", "SE17 1RW"]),
    ],
)
def test_home_addresses_redacted_and_still_home(text: str, gone: list[str]) -> None:
    cleaned = clean_text(text)[0]
    out, kinds = redact(cleaned)
    for value in gone:
        assert value.lower() not in out.lower()
    assert kinds == ["address"]
    assert HOME_ADDRESS in out
    # The geocoder must still class the row as a home, never place it.
    assert is_home(normalise_query(out))


def test_place_of_assault_kept_beside_a_home_address() -> None:
    out, kinds = redact("o/s 123 Walworth Road, pt lives at 12 Acre Lane SW2 5SG")
    assert out == f"o/s 123 Walworth Road, pt lives at {HOME_ADDRESS}"
    assert kinds == ["address"]


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("pt's ex Dwayne punched her", ["Dwayne"]),
        ("assaulted by ex bf jamal", ["jamal"]),
        ("ASSAULTED BY EX PARTNER DARREN COLE", ["Darren", "Cole"]),
        ("Mr Okafor hit pt with bottle", ["Okafor"]),
        ("Mrs Hill slapped pt", ["Hill"]),
        ("Dr Mensah witnessed it", ["Mensah"]),
        ("known to pt as Tunde", ["Tunde"]),
        ("a man called Kofi Asante punched pt", ["Kofi", "Asante"]),
        ("Kevin Doyle hit pt at Clapham Junction", ["Kevin", "Doyle"]),
        ("Emma stabbed pt on Rye Lane", ["Emma"]),
        ("fight with Hodan Wood o/s the Carpenter's Arms", ["Hodan", "Wood"]),
        ("Piotr (pt's son) stabbed pt", ["Piotr"]),
        ("two males, Liam and Darren, hit pt", ["Liam", "Darren"]),
        ("partner Gary Hill hit her at home", ["Gary", "Hill"]),
    ],
)
def test_names(text: str, gone: list[str]) -> None:
    out, kinds = redact(clean_text(text)[0])
    for name in gone:
        assert re.search(rf"\b{re.escape(name)}\b", out, re.IGNORECASE) is None, out
    assert kinds == ["person_name"]


# Places of assault that must come through unchanged: postcodes, house numbers of public
# places, and places named after people.
MUST_SURVIVE = [
    "outside Tesco Express Camberwell SE5 8TR",
    "o/s 123 Walworth Road",
    "King's Cross St Pancras",
    "o/s Kings Cross stn",
    "St Thomas' Hospital",
    "Elephant & Castle",
    "elephant and castle roundabout",
    "Tesco Rye Lane",
    "Sainsbury's Whitechapel",
    "Walworth Road",
    "Camberwell",
    "John Lewis Oxford Street",
    "outside John Lewis, Oxford St",
    "Marks & Spencer Brixton",
    "o/s Marks and Spencer Lewisham",
    "The Duke of Wellington pub",
    "outside the Lord Nelson",
    "in the Prince Albert",
    "Peter Jones, Sloane Square",
    "William Hill, Rye Lane",
    "Stanley Road, Wood Green",
    "Victoria Park",
    "Queen Elizabeth Hospital Woolwich",
    "St George's Hospital Tooting",
    "by Victoria station",
    "assaulted by unknown male outside the Albert",
    "walking home along Acre Lane",
    "on way home from the Windmill, Brixton",
    "03/05/2025 approx 23:10 o/s the Queen's Head",
    "on the 36 bus nr Peckham Rye station",
    "bus stop on Walworth Road (stop 47683)",
    "SE15 4ST",
    "pt's home",
    "home address",
    "outside block of flats on Wyndham Road",
    "pt's workplace, 14 Old Kent Road",
    "Unit 4, 120 Old Kent Road",
    "M25 junction 2",
    "A406 North Circular",
]


@pytest.mark.parametrize("text", MUST_SURVIVE)
def test_places_survive(text: str) -> None:
    assert redact(text) == (text, [])


@given(
    st.lists(st.sampled_from("0123456789"), min_size=7, max_size=14),
    st.lists(st.sampled_from(["", "", "", " ", "-"]), min_size=13, max_size=13),
    st.sampled_from(["", "o/s Brixton stn ", "pt's mum said ", "call ", "ref: ", "("]),
    st.sampled_from(["", " Rye Lane", " at home", ")", ".", ", SE5"]),
)
@settings(max_examples=300)
def test_no_run_of_seven_digits_survives(
    digits: list[str], seps: list[str], before: str, after: str
) -> None:
    number = "".join(d + s for d, s in zip(digits, seps, strict=False)).strip(" -")
    out, _ = redact(f"{before}{number}{after}")
    assert re.search(r"\d(?:[ -]?\d){6}", out) is None, out


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
@settings(max_examples=300)
def test_redact_never_raises_and_is_idempotent(text: str) -> None:
    once, _ = redact(text)
    assert redact(once) == (once, [])


def test_corpus_bars() -> None:
    """The benchmark's corpus: recall and damage bars (no timing here)."""
    lines = [json.loads(raw) for raw in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 500
    total: dict[str, int] = {}
    caught: dict[str, int] = {}
    ordinary = damaged = 0
    for item in lines:
        before = clean_text(item["text"])[0]
        out, _ = redact(before)
        for kind, value in item["values"]:
            total[kind] = total.get(kind, 0) + 1
            if kind == "person_name":
                left = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", out, re.IGNORECASE)
            else:
                left = value.lower() in out.lower()
            caught[kind] = caught.get(kind, 0) + (not left)
        if item["ordinary"]:
            ordinary += 1
            damaged += out != before
    assert ordinary >= 200
    for kind in total:
        bar = 0.90 if kind == "person_name" else 0.99
        assert caught[kind] / total[kind] >= bar, kind
    assert damaged / ordinary <= 0.02


@pytest.mark.parametrize("value", ["123456789", "Mr Okafor", "K1234567", "3rd March 1987"])
def test_report_never_echoes_an_identifying_code_value(value: str) -> None:
    assert safe_value(value) is None


@pytest.mark.parametrize("value", ["Spork", "32/01/2025", "45/13/2025", "Kicked"])
def test_report_still_echoes_ordinary_values(value: str) -> None:
    assert safe_value(value) == value
