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
    rows.append(("22015-TDP01", "Tổ dân phố 1", "", "Chủ hộ 3", "2", ""))

    def import_again(vault_settings: Settings) -> households.ImportReport:
        with db.session() as session:
            return households.import_households(
                session,
                privacy.vault_for(vault_settings),
                household_file(rows),
                "h.csv",
                unit_code=COMMUNE,
                today=TODAY,
            )

    assert import_again(settings).created == 3
    with db.session() as session:
        assert privacy.rekey(session, during) == 3
    with db.session() as session:
        assert privacy.rekey(session, during) == 0  # idempotent: nothing stale is left
        vault = privacy.vault_for(after)
        stored = session.scalars(select(Household).order_by(Household.id)).all()
        names = ["Chủ hộ 1", "Chủ hộ 2", "Chủ hộ 3"]
        assert [vault.get(h, "head_name") for h in stored] == names
        assert {vault.get(h, "phone") for h in stored[:2]} == {"+84905123456"}
        # The blind index now matches a lookup under the new secret alone.
        assert {h.phone_index for h in stored[:2]} == {vault.digest("phone", "+84905123456")}
    # The old secret has left the ring: the same file is still recognised, nothing doubles.
    again = import_again(after)
    assert (again.created, again.unchanged) == (0, 3)


def test_a_household_changed_since_its_import_keeps_its_key(
    db: Database, settings: Settings
) -> None:
    vault = privacy.vault_for(settings)
    rows = [("", "", "1 Lê Lợi", "Chủ hộ 1", "3", "")]
    with db.session() as session:
        households.import_households(
            session, vault, household_file(rows), "h.csv", unit_code=COMMUNE, today=TODAY
        )
    with db.session() as session:
        household = session.scalars(select(Household)).one()
        before = household.import_key
        vault.seal(household, head_name="Người khác")  # not the row the digest was made from
        assert households.rekey_import_key(session, vault, household) is False
        assert household.import_key == before
