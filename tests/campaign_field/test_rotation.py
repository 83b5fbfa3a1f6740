"""Secret rotation re-encrypts households' and visits' personal data (``campaign.privacy``)."""

from __future__ import annotations

from sqlalchemy import select

from safezone.campaign import households, privacy
from safezone.campaign.models import Household
from safezone.config import Settings
from safezone.db.engine import Database
from tests.campaign_field.conftest import COMMUNE, TODAY, household_file

NEW_SECRET = "a-brand-new-secret-for-rotation-tests-0123456789"


def test_rotation_reseals_households_under_the_new_secret(db: Database, settings: Settings) -> None:
    old_secret = settings.secret().decode()

    def with_secrets(current: str, previous: list[str]) -> Settings:
        return Settings(
            data_dir=settings.data_dir,
            database_url=settings.database_url,
            secret_key=current,
            previous_secret_keys=previous,
        )

    during, after = with_secrets(NEW_SECRET, [old_secret]), with_secrets(NEW_SECRET, [])
    rows = [("", "", f"{n} Lê Lợi", f"Chủ hộ {n}", "3", "0905123456") for n in (1, 2)]
    with db.session() as session:
        households.import_households(
            session,
            privacy.vault_for(settings),
            household_file(rows),
            "h.csv",
            unit_code=COMMUNE,
            today=TODAY,
        )
    with db.session() as session:
        assert privacy.rekey(session, during) == 2
    with db.session() as session:
        assert privacy.rekey(session, during) == 0  # idempotent: nothing stale is left
        vault = privacy.vault_for(after)
        stored = session.scalars(select(Household).order_by(Household.id)).all()
        assert [vault.get(h, "head_name") for h in stored] == ["Chủ hộ 1", "Chủ hộ 2"]
        assert {vault.get(h, "phone") for h in stored} == {"+84905123456"}
        # The blind index now matches a lookup under the new secret alone.
        assert {h.phone_index for h in stored} == {vault.digest("phone", "+84905123456")}
