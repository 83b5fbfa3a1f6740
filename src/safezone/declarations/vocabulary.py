"""The one list of codes of health declarations, each with its Vietnamese and English label.

Schemas (what input is accepted), triage, the queue filters, pages, timelines and exports all
derive from these tuples; a code shown to a person goes through :func:`label`. Adding a code
here adds it everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Term:
    """A code and how people read it."""

    code: str
    vi: str
    en: str


def _terms(*rows: tuple[str, str, str]) -> tuple[Term, ...]:
    return tuple(Term(*row) for row in rows)


SYMPTOM_TERMS = _terms(
    ("fever", "Sốt", "Fever"),
    ("cough", "Ho", "Cough"),
    ("shortness_of_breath", "Khó thở", "Shortness of breath"),
    ("sore_throat", "Đau họng", "Sore throat"),
    ("fatigue", "Mệt mỏi, đau người", "Fatigue or body ache"),
    ("loss_of_taste_smell", "Mất vị giác hoặc khứu giác", "Loss of taste or smell"),
    ("other", "Triệu chứng khác", "Other symptom"),
)
EXPOSURE_TERMS = _terms(
    ("confirmed_case", "Tiếp xúc với ca bệnh (F0)", "Contact with a confirmed case (F0)"),
    ("suspected_case", "Tiếp xúc với người nghi nhiễm", "Contact with a suspected case"),
    (
        "returned_from_outbreak_area",
        "Tiếp xúc với người từ vùng dịch về",
        "Contact with someone back from an outbreak area",
    ),
    ("visited_health_facility", "Đến cơ sở y tế", "Visited a health facility"),
)
CONDITION_TERMS = _terms(
    ("chronic_lung_disease", "Bệnh phổi mạn tính", "Chronic lung disease"),
    ("heart_disease", "Bệnh tim", "Heart disease"),
    ("kidney_disease", "Bệnh thận", "Kidney disease"),
    ("liver_disease", "Bệnh gan", "Liver disease"),
    ("diabetes", "Đái tháo đường", "Diabetes"),
    ("cancer", "Ung thư", "Cancer"),
    ("immunosuppression", "Suy giảm miễn dịch", "Weakened immune system"),
    ("hypertension", "Tăng huyết áp", "High blood pressure"),
    ("pregnancy", "Đang mang thai", "Pregnancy"),
    ("other", "Bệnh nền khác", "Other condition"),
)
#: Daily update statuses; every one but ``healthy`` counts as the symptom of the same code.
DAILY_STATUS_TERMS = _terms(
    ("healthy", "Khoẻ", "Healthy"),
    ("fever", "Sốt", "Fever"),
    ("cough", "Ho", "Cough"),
    ("shortness_of_breath", "Khó thở", "Shortness of breath"),
    ("fatigue", "Mệt mỏi, đau người", "Fatigue or body ache"),
)
DECLARATION_TYPE_TERMS = _terms(
    ("domestic", "Khai báo nội địa", "Domestic"),
    ("border_entry", "Nhập cảnh tại cửa khẩu", "Entry at a border checkpoint"),
    ("road_checkpoint", "Chốt kiểm soát trên đường", "Checkpoint on the road"),
)
GENDER_TERMS = _terms(
    ("male", "Nam", "Male"),
    ("female", "Nữ", "Female"),
    ("other", "Khác", "Other"),
    ("not_stated", "Không muốn nêu", "Prefer not to say"),
)
RISK_TERMS = _terms(
    ("low", "Thấp", "Low"),
    ("medium", "Trung bình", "Medium"),
    ("high", "Cao", "High"),
)
FOLLOW_UP_TERMS = _terms(
    ("seen_well", "Đã gặp, khoẻ", "Seen, well"),
    ("seen_unwell", "Đã gặp, có triệu chứng", "Seen, unwell"),
    ("not_reached", "Không liên lạc được", "Not reached"),
    ("not_performed", "Chưa thực hiện", "Not performed"),
)
OUTCOME_TERMS = _terms(
    ("completed", "Hoàn thành", "Completed"),
    ("lost_to_follow_up", "Mất dấu", "Lost to follow-up"),
    ("became_case", "Trở thành ca bệnh", "Became a case"),
)
ID_KIND_TERMS = _terms(
    ("citizen_id", "CCCD", "Citizen ID"),
    ("legacy_id", "CMND", "ID card"),
    ("passport", "Hộ chiếu", "Passport"),
)
TIMELINE_TERMS = _terms(
    ("declaration", "Tờ khai", "Declaration"),
    ("daily_update", "Cập nhật hằng ngày", "Daily update"),
    ("follow_up", "Theo dõi", "Follow-up"),
)
UNIT_LEVEL_TERMS = _terms(
    ("province", "Tỉnh, thành phố", "Province"),
    ("district", "Quận, huyện, thị xã", "District"),
    ("commune", "Xã, phường, thị trấn", "Commune, ward or town"),
    ("village", "Thôn, tổ dân phố", "Village"),
)

#: Input fields as people read them (errors name the field: "Họ và tên: bắt buộc").
FIELD_TERMS = _terms(
    ("full_name", "Họ và tên", "Full name"),
    ("birth_year", "Năm sinh", "Year of birth"),
    ("birth_date", "Ngày sinh", "Date of birth"),
    ("gender", "Giới tính", "Gender"),
    ("nationality", "Quốc tịch", "Nationality"),
    ("id_number", "Số CCCD, CMND hoặc hộ chiếu", "ID or passport number"),
    ("phone", "Số điện thoại", "Phone number"),
    ("email", "E-mail", "E-mail"),
    ("unit_code", "Xã, phường, thị trấn", "Commune, ward or town"),
    ("street", "Số nhà, đường, thôn", "House number, street, village"),
    ("declaration_type", "Loại khai báo", "Kind of declaration"),
    ("symptoms", "Triệu chứng", "Symptoms"),
    ("conditions", "Bệnh nền", "Underlying conditions"),
    ("travel", "Nơi đã đến", "Places travelled"),
    ("place", "Nơi đến", "Place"),
    ("from", "Ngày đi", "From"),
    ("to", "Ngày về", "To"),
    ("pledge", "Cam kết", "Pledge"),
    ("statuses", "Tình trạng sức khoẻ", "Health status"),
    ("day", "Ngày", "Day"),
    ("status", "Trạng thái", "Status"),
    ("note", "Ghi chú", "Note"),
    ("outcome", "Kết quả", "Outcome"),
    # export columns
    ("id", "Số tờ khai", "Declaration number"),
    ("declared_on", "Ngày khai", "Declared on"),
    ("unit_name", "Đơn vị", "Unit"),
    ("risk", "Mức nguy cơ", "Risk level"),
    ("exposure", "Yếu tố dịch tễ", "Exposure"),
    ("assigned_unit_code", "Trạm y tế được giao (mã)", "Assigned health station (code)"),
)


def _countries() -> tuple[Term, ...]:
    data = json.loads(
        resources.files("safezone.declarations").joinpath("data/countries.json").read_text("utf-8")
    )
    return tuple(Term(row["code"], row["vi"], row["en"]) for row in data["countries"])


#: ISO 3166-1 alpha-2 countries with Vietnamese and English names (data/countries.json).
COUNTRY_TERMS = _countries()
DEFAULT_COUNTRY = "VN"


def codes(terms: tuple[Term, ...]) -> tuple[str, ...]:
    """The codes of a list of terms, in order."""
    return tuple(term.code for term in terms)


SYMPTOMS = codes(SYMPTOM_TERMS)
EXPOSURES = codes(EXPOSURE_TERMS)
CONDITIONS = codes(CONDITION_TERMS)
DAILY_STATUSES = codes(DAILY_STATUS_TERMS)
DECLARATION_TYPES = codes(DECLARATION_TYPE_TERMS)
GENDERS = codes(GENDER_TERMS)
RISKS = codes(RISK_TERMS)  # ordered: low < medium < high
FOLLOW_UP_STATUSES = codes(FOLLOW_UP_TERMS)
OUTCOMES = codes(OUTCOME_TERMS)
ID_KINDS = codes(ID_KIND_TERMS)
COUNTRIES = frozenset(codes(COUNTRY_TERMS))

#: Which list a code is read from, when it is shown with its kind (symptom "other" and
#: condition "other" read differently).
GROUPS: dict[str, tuple[Term, ...]] = {
    "symptom": SYMPTOM_TERMS,
    "exposure": EXPOSURE_TERMS,
    "condition": CONDITION_TERMS,
    "daily_status": DAILY_STATUS_TERMS,
    "declaration_type": DECLARATION_TYPE_TERMS,
    "gender": GENDER_TERMS,
    "risk": RISK_TERMS,
    "follow_up": FOLLOW_UP_TERMS,
    "outcome": OUTCOME_TERMS,
    "id_kind": ID_KIND_TERMS,
    "timeline": TIMELINE_TERMS,
    "unit_level": UNIT_LEVEL_TERMS,
    "field": FIELD_TERMS,
    "country": COUNTRY_TERMS,
}
_BY_GROUP: dict[str, dict[str, Term]] = {
    group: {term.code: term for term in terms} for group, terms in GROUPS.items()
}
# A code without a group: the first group that knows it (order above: symptoms first).
_ANY: dict[str, Term] = {}
for _terms_of_group in (t for group, t in GROUPS.items() if group not in ("field", "country")):
    for _term in _terms_of_group:
        _ANY.setdefault(_term.code, _term)


def term(code: str, group: str | None = None) -> Term | None:
    """The term of ``code`` (in ``group`` when given), or None when the code is unknown."""
    if group is not None:
        return _BY_GROUP[group].get(code)
    return _ANY.get(code)


def label(code: str | None, locale: str, group: str | None = None) -> str:
    """How a person reads ``code`` in ``locale`` (``vi`` or ``en``); unknown codes unchanged."""
    if code is None:
        return ""
    found = term(code, group)
    if found is None:
        return code
    return found.en if locale == "en" else found.vi


def labels(values: list[str] | tuple[str, ...], locale: str, group: str | None = None) -> str:
    """Labels of several codes, comma-separated."""
    return ", ".join(label(code, locale, group) for code in values)


def field_label(name: str, locale: str) -> str:
    """How a person reads an input field's name (``travel.0.from`` -> "Ngày đi" / "From")."""
    parts = [part for part in name.split(".") if not part.isdigit()]
    for part in reversed(parts):
        found = _BY_GROUP["field"].get(part)
        if found is not None:
            return found.en if locale == "en" else found.vi
    return name


def countries_for(locale: str) -> list[tuple[str, str]]:
    """(code, name) of every country for a selector: Việt Nam first, then by name."""
    rows = [(term.code, term.en if locale == "en" else term.vi) for term in COUNTRY_TERMS]
    rows.sort(key=lambda row: (row[0] != DEFAULT_COUNTRY, row[1].casefold()))
    return rows
