"""Health declarations: vocabulary, intake (citizens), review (staff), reports, retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from safezone.config import Settings


def rekey(session: Session, settings: Settings) -> int:
    """Re-encrypt every declaration row under the current key (``safezone secrets rotate``).

    See :func:`safezone.declarations.retention.rekey`; imported lazily so that importing the
    package (e.g. for its models) stays cheap.
    """
    from safezone.declarations.retention import rekey as run

    return run(session, settings)
