"""Optional import sources besides CSV files.

``vietnam-provinces`` (PyPI, GPL-3.0) carries the national list after the 1 July 2025 reform:
provinces and their communes, no district level. It is an optional, user-installed package; we
only read its data at import time and never ship or require it.
"""

from __future__ import annotations

REFORM_DATE = "2025-07-01"
_PROVINCE_TYPES = {"tỉnh": "tỉnh", "thành phố trung ương": "thành phố"}


def vietnam_provinces_rows() -> list[dict[str, str | None]]:
    """The current national unit list as CSV-shaped rows; raises ImportError when absent."""
    from vietnam_provinces import Province
    from vietnam_provinces.lookup import WARD_MAPPING

    rows: list[dict[str, str | None]] = []
    for province in Province.iter_all():
        kind = province.division_type.value
        rows.append(
            {
                "code": f"{int(province.code):02d}",
                "name": province.name,
                "level": "province",
                "type": _PROVINCE_TYPES.get(kind, kind),
                "parent_code": None,
                "valid_from": REFORM_DATE,
            }
        )
    for ward in WARD_MAPPING.values():
        rows.append(
            {
                "code": f"{int(ward.code):05d}",
                "name": ward.name,
                "level": "commune",
                "type": ward.division_type.value,
                "parent_code": f"{int(ward.province_code):02d}",
                "valid_from": REFORM_DATE,
            }
        )
    return rows
