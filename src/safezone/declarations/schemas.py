"""Input and output shapes of declarations. The input field names are part of the public API.

Input models check everything that can be checked from the body alone (and, through the
validation context, whether the unit code names a commune), so one validation pass reports
every bad field at once, each with a code and messages in Vietnamese and English.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from safezone.declarations import vocabulary

if TYPE_CHECKING:  # the checker sees plain strings; pydantic sees the vocabulary's codes
    SymptomCode: TypeAlias = str
    ConditionCode: TypeAlias = str
    DailyStatus: TypeAlias = str
    DeclarationType: TypeAlias = str
    FollowUpStatus: TypeAlias = str
    Outcome: TypeAlias = str
    Gender: TypeAlias = str
else:
    SymptomCode = Literal[vocabulary.SYMPTOMS]
    ConditionCode = Literal[vocabulary.CONDITIONS]
    DailyStatus = Literal[vocabulary.DAILY_STATUSES]
    DeclarationType = Literal[vocabulary.DECLARATION_TYPES]
    FollowUpStatus = Literal[vocabulary.FOLLOW_UP_STATUSES]
    Outcome = Literal[vocabulary.OUTCOMES]
    Gender = Literal[vocabulary.GENDERS]

MIN_BIRTH_YEAR = 1900
MAX_TRAVEL_ENTRIES = 20
DAILY_UPDATE_MAX_AGE_DAYS = 14
#: A declaration asks about the last 14 days: travel dates before that are refused.
TRAVEL_WINDOW_DAYS = 14
CITIZEN_ID = re.compile(r"^\d{12}$")
LEGACY_ID = re.compile(r"^\d{9}$")
PASSPORT = re.compile(r"^(?=.*[A-Z])[A-Z0-9]{6,9}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

Text = Annotated[str, StringConstraints(strip_whitespace=True)]

#: The validation context key for "what level is this unit code" (None = unknown code).
UNIT_LEVEL = "unit_level"
#: The validation context key for today's date (injected so tests control time).
TODAY = "today"


def field_error(code: str, message_en: str, message_vi: str) -> PydanticCustomError:
    """A pydantic error carrying our code and both messages (the Vietnamese one in ``ctx``)."""
    return PydanticCustomError(code, message_en, {"message_vi": message_vi})


def _today(info: ValidationInfo) -> dt.date:
    context = info.context or {}
    today = context.get(TODAY)
    return today if isinstance(today, dt.date) else dt.date.today()  # noqa: DTZ011 - local day


def id_kind(id_number: str) -> str:
    """``citizen_id`` (12 digits), ``legacy_id`` (9 digits) or ``passport``."""
    if CITIZEN_ID.match(id_number):
        return "citizen_id"
    if LEGACY_ID.match(id_number):
        return "legacy_id"
    return "passport"


def normalise_id_number(value: str) -> str:
    """Upper case without spaces, dots or dashes (what people type around the digits)."""
    return re.sub(r"[\s.\-]", "", value).upper()


def normalise_phone(value: str) -> str | None:
    """E.164 form of a phone number (Vietnamese numbers may omit +84), or None if invalid."""
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class AddressIn(BaseModel):
    """Where the person lives: a commune code and the street text."""

    model_config = ConfigDict(extra="forbid")

    unit_code: Annotated[Text, Field(min_length=1, max_length=16)]
    street: Annotated[Text, Field(min_length=1, max_length=200)]

    @field_validator("unit_code")
    @classmethod
    def _commune(cls, value: str, info: ValidationInfo) -> str:
        lookup: Callable[[str], str | None] | None = (info.context or {}).get(UNIT_LEVEL)
        if lookup is None:
            return value  # no database at hand (e.g. the benchmark baseline)
        level = lookup(value)
        if level is None:
            raise field_error(
                "unknown_unit",
                "No administrative unit has this code.",
                "Không có đơn vị hành chính nào mang mã này.",
            )
        if level != "commune":
            raise field_error(
                "not_a_commune",
                "Choose a commune, ward or town (xã, phường, thị trấn).",
                "Hãy chọn đến cấp xã, phường, thị trấn.",
            )
        return value


class ExposureIn(BaseModel):
    """The exposure questions of the last 14 days."""

    model_config = ConfigDict(extra="forbid")

    confirmed_case: bool = False
    suspected_case: bool = False
    returned_from_outbreak_area: bool = False
    visited_health_facility: bool = False

    def positive(self) -> list[str]:
        """The codes answered yes."""
        return [name for name, value in self.model_dump().items() if value]


class TravelIn(BaseModel):
    """One place travelled to in the last 14 days, with dates."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    place: Annotated[Text, Field(min_length=1, max_length=200)]
    from_: dt.date = Field(alias="from")
    to: dt.date

    @field_validator("from_", "to")
    @classmethod
    def _in_window(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        today = _today(info)
        if value > today:
            raise field_error(
                "date_in_future",
                "Travel dates cannot be in the future.",
                "Ngày đi lại không được ở tương lai.",
            )
        start = today - dt.timedelta(days=TRAVEL_WINDOW_DAYS)
        if value < start:
            raise field_error(
                "date_outside_window",
                f"Only travel in the last {TRAVEL_WINDOW_DAYS} days: give a date from "
                f"{start:%d/%m/%Y} to today.",
                f"Chỉ khai nơi đã đến trong {TRAVEL_WINDOW_DAYS} ngày qua: ngày phải từ "
                f"{start:%d/%m/%Y} đến hôm nay.",
            )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TravelIn:
        if self.to < self.from_:
            raise field_error("date_order", "'to' is before 'from'.", "Ngày về trước ngày đi.")
        return self


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class DeclarationIn(BaseModel):
    """A health declaration as the app and the form send it."""

    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[Text, Field(min_length=2, max_length=100)]
    birth_year: int | None = None
    birth_date: dt.date | None = None
    gender: Gender
    nationality: Annotated[Text, Field(min_length=2, max_length=2)] = "VN"
    id_number: Annotated[str, Field(max_length=20)]
    phone: Annotated[str, Field(max_length=20)]
    email: Annotated[Text, Field(max_length=254)] | None = None
    address: AddressIn
    declaration_type: DeclarationType
    symptoms: Annotated[list[SymptomCode], Field(max_length=7)] = []
    exposure: ExposureIn = ExposureIn()
    travel: Annotated[list[TravelIn], Field(max_length=MAX_TRAVEL_ENTRIES)] = []
    conditions: Annotated[list[ConditionCode], Field(max_length=10)] = []
    pledge: bool

    @field_validator("birth_year")
    @classmethod
    def _birth_year(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and not MIN_BIRTH_YEAR <= value <= _today(info).year:
            raise field_error(
                "birth_year_out_of_range",
                f"Year of birth must be between {MIN_BIRTH_YEAR} and this year.",
                f"Năm sinh phải từ {MIN_BIRTH_YEAR} đến năm nay.",
            )
        return value

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        if value is not None and not (dt.date(MIN_BIRTH_YEAR, 1, 1) <= value <= _today(info)):
            raise field_error(
                "birth_date_out_of_range",
                f"Date of birth must be between {MIN_BIRTH_YEAR} and today.",
                f"Ngày sinh phải từ năm {MIN_BIRTH_YEAR} đến hôm nay.",
            )
        return value

    @field_validator("nationality")
    @classmethod
    def _nationality(cls, value: str) -> str:
        value = value.upper()
        if value not in vocabulary.COUNTRIES:
            raise field_error(
                "invalid_nationality",
                "Nationality: choose a country (an ISO 3166-1 code such as VN or US).",
                "Quốc tịch: hãy chọn một quốc gia (mã ISO 3166-1, ví dụ VN, US).",
            )
        return value

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        value = normalise_id_number(value)
        if not (CITIZEN_ID.match(value) or LEGACY_ID.match(value) or PASSPORT.match(value)):
            raise field_error(
                "invalid_id_number",
                "Identity number must be a 12-digit citizen ID, a 9-digit ID card number "
                "or a passport number.",
                "Số giấy tờ phải là CCCD 12 số, CMND 9 số hoặc số hộ chiếu.",
            )
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        normalised = normalise_phone(value)
        if normalised is None:
            raise field_error(
                "invalid_phone",
                "This is not a valid phone number (e.g. 0905123456).",
                "Số điện thoại không hợp lệ (ví dụ 0905123456).",
            )
        return normalised

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not EMAIL.match(value):
            raise field_error(
                "invalid_email",
                "This is not a valid e-mail address.",
                "Địa chỉ e-mail không hợp lệ.",
            )
        return value

    @field_validator("symptoms", "conditions")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return _unique(value)

    @field_validator("pledge")
    @classmethod
    def _pledge(cls, value: bool) -> bool:
        if not value:
            raise field_error(
                "pledge_required",
                "You must pledge that the information is true.",
                "Bạn cần cam kết thông tin khai báo là đúng sự thật.",
            )
        return value

    @model_validator(mode="after")
    def _birth(self) -> DeclarationIn:
        if self.birth_year is None and self.birth_date is None:
            raise PydanticCustomError(
                "birth_required",
                "Give a year of birth or a date of birth.",
                {"message_vi": "Cần năm sinh hoặc ngày sinh.", "field": "birth_year"},
            )
        if self.birth_date is not None:
            if self.birth_year is not None and self.birth_year != self.birth_date.year:
                raise PydanticCustomError(
                    "birth_mismatch",
                    "Year of birth and date of birth disagree.",
                    {"message_vi": "Năm sinh và ngày sinh không khớp.", "field": "birth_year"},
                )
            self.birth_year = self.birth_date.year
        return self


class DailyUpdateIn(BaseModel):
    """One day's health status."""

    model_config = ConfigDict(extra="forbid")

    statuses: Annotated[list[DailyStatus], Field(min_length=1, max_length=5)]
    day: dt.date | None = None

    @field_validator("statuses")
    @classmethod
    def _consistent(cls, value: list[str]) -> list[str]:
        value = _unique(value)
        if "healthy" in value and len(value) > 1:
            raise field_error(
                "healthy_with_symptoms",
                "'healthy' cannot be combined with symptoms.",
                "Không thể vừa chọn 'khoẻ' vừa chọn triệu chứng.",
            )
        return value

    @field_validator("day")
    @classmethod
    def _recent(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        today = _today(info)
        if value is not None and not (
            today - dt.timedelta(days=DAILY_UPDATE_MAX_AGE_DAYS) <= value <= today
        ):
            raise field_error(
                "day_out_of_range",
                "The day must be today or within the last 14 days.",
                "Ngày phải là hôm nay hoặc trong 14 ngày qua.",
            )
        return value


class AssignmentIn(BaseModel):
    """Assign a declaration to a commune health station."""

    model_config = ConfigDict(extra="forbid")

    unit_code: Annotated[Text, Field(min_length=1, max_length=16)]


class FollowUpIn(BaseModel):
    """A daily follow-up by health staff (Go.Data statuses)."""

    model_config = ConfigDict(extra="forbid")

    status: FollowUpStatus
    day: dt.date | None = None
    note: Annotated[Text, Field(max_length=500)] = ""

    @field_validator("day")
    @classmethod
    def _not_future(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        if value is not None and value > _today(info):
            raise field_error(
                "date_in_future",
                "The day cannot be in the future.",
                "Ngày không được ở tương lai.",
            )
        return value


class OutcomeIn(BaseModel):
    """The final outcome of a follow-up."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome


class PassVerifyIn(BaseModel):
    """A pass token to check."""

    token: Annotated[Text, Field(min_length=1, max_length=400)]


# --- output -----------------------------------------------------------------------------------


class DeclarationCreated(BaseModel):
    """The answer to a new or updated declaration. Keep ``update_token``: it is shown once."""

    id: int
    pass_token: str | None  # None when the declaration may hold no pass
    update_token: str
    risk: str


class DailyUpdateOut(BaseModel):
    """A stored daily update, the recomputed risk and a fresh pass."""

    id: int
    declaration_id: int
    day: dt.date
    statuses: list[str]
    risk: str
    pass_token: str | None  # None when the declaration may hold no pass


class PassOut(BaseModel):
    """The result of a pass check: the verdict, and what the token itself says when valid.

    ``initials`` and ``birth_year`` let the checkpoint compare the pass with the person showing
    it (their identity card); ``reason`` is a stable code when the pass is refused.
    """

    valid: bool
    reason: str | None = None
    serial: str | None = None
    issued: dt.datetime | None = None
    expires: dt.datetime | None = None
    risk: str | None = None
    initials: str | None = None
    birth_year: int | None = None


class DeclarationSummary(BaseModel):
    """A queue row: no personal data (opening the declaration reads the person, audited)."""

    id: int
    unit_code: str
    unit_name: str
    declared_on: dt.date
    declaration_type: str
    risk: str
    symptoms: list[str]
    exposure: dict[str, bool]
    assigned_unit_code: str | None
    outcome: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    #: In the queue: another person's declaration in the caller's area has the same ID number.
    shares_id_number: bool = False


class PersonOut(BaseModel):
    """The decrypted person (every read is audited)."""

    id: int
    full_name: str
    birth_year: int
    birth_date: dt.date | None
    gender: str
    nationality: str
    id_number: str
    id_kind: str
    phone: str
    email: str | None
    address: dict[str, str]


class DailyUpdateRow(BaseModel):
    """A daily update in a timeline."""

    day: dt.date
    statuses: list[str]
    declaration_id: int


class FollowUpRow(BaseModel):
    """A follow-up in a timeline."""

    day: dt.date
    status: str
    note: str
    actor: str


class TimelineEntry(BaseModel):
    """One event of a person's timeline.

    ``codes`` are vocabulary codes (declaration: type and risk; daily update: statuses;
    follow-up: status), labelled by whoever shows them. ``same_id_number`` marks events of a
    declaration that carries the same identity number but was not linked with proof.
    """

    day: dt.date
    kind: Literal["declaration", "daily_update", "follow_up"]
    declaration_id: int
    codes: list[str]
    same_id_number: bool = False


class SameIdDeclaration(BaseModel):
    """Another declaration with the same identity number, not linked with proof: its own
    contact details, so staff can tell a namesake, a typo or an impostor apart."""

    id: int
    declared_on: dt.date
    unit_code: str
    risk: str
    full_name: str
    phone: str
    email: str | None
    street: str


class DeclarationDetail(DeclarationSummary):
    """A declaration with the person, answers, updates and follow-ups."""

    person: PersonOut
    travel: list[dict[str, Any]]
    conditions: list[str]
    pledge: bool
    daily_updates: list[DailyUpdateRow]
    followups: list[FollowUpRow]
    timeline: list[TimelineEntry]
    same_id_number: list[SameIdDeclaration] = []


class DeclarationPage(BaseModel):
    """One page of the queue."""

    items: list[DeclarationSummary]
    total: int
    page: int
    per_page: int
