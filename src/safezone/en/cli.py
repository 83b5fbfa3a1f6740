"""``safezone en``: protocol tools (vectors, export inspection, risk scoring).

Typer and Rich are used only here, so the library itself stays dependency-light.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from rich.console import Console
from rich.table import Table

from safezone.en import crypto, export
from safezone.en.errors import EnError, InvalidSignatureError, UnsignedExportError
from safezone.en.risk import (
    ExposureWindow,
    RiskParameters,
    ScanInstance,
    cwa_default,
    daily_summaries,
    evaluate,
)

app = typer.Typer(
    name="en",
    help="Exposure Notification protocol tools: test vectors, key files, risk scoring.",
    no_args_is_help=True,
)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@app.command()
def vectors() -> None:
    """Check the built-in GAEN v1.2 test vectors (TEK -> RPIK, AEMK, 144 RPIs and AEMs)."""
    data = json.loads(
        resources.files("safezone.en").joinpath("data/gaen_v1_2_test_vectors.json").read_text()
    )
    tek = bytes.fromhex(data["tek"])
    metadata = bytes.fromhex(data["metadata"])
    failures: list[str] = []
    rpik, aemk = crypto.derive_rpik(tek), crypto.derive_aemk(tek)
    if rpik.hex() != data["rpik"]:
        failures.append("RPIK")
    if aemk.hex() != data["aemk"]:
        failures.append("AEMK")
    if (
        crypto.interval_number(data["key_generation_unix_seconds"])
        != (data["rolling_start_interval_number"])
    ):
        failures.append("ENIntervalNumber")
    for vector in data["intervals"]:
        rpi = crypto.rpi(rpik, vector["interval_number"])
        if rpi.hex() != vector["rpi"]:
            failures.append(f"RPI {vector['interval_number']}")
        if crypto.encrypt_aem(aemk, rpi, metadata).hex() != vector["aem"]:
            failures.append(f"AEM {vector['interval_number']}")
    console = _console()
    if failures:
        console.print(f"[red]FAILED[/red] {len(failures)} checks: {', '.join(failures[:10])}")
        raise typer.Exit(1)
    console.print(
        f"[green]OK[/green] RPIK, AEMK, ENIntervalNumber and {len(data['intervals'])} "
        "RPI/AEM vectors of the Exposure Notification Cryptography Specification v1.2"
    )


def _load_public_key(value: str) -> ec.EllipticCurvePublicKey:
    text = value
    if "-----BEGIN" not in value:
        try:  # a file name, or the key itself (which may be too long to be a file name)
            path = Path(value)
            if path.is_file():
                text = path.read_text()
        except OSError:
            pass
    try:
        if "-----BEGIN" in text:
            key = load_pem_public_key(text.encode())
        else:
            key = load_der_public_key(base64.b64decode(text.strip(), validate=True))
    except (ValueError, binascii.Error) as exc:
        raise typer.BadParameter(f"not a PEM or base64 DER public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise typer.BadParameter("the public key must be an EC (P-256) key")
    return key


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="export zip or bin")],
    public_key: Annotated[
        str | None,
        typer.Option(help="P-256 public key: PEM, base64 DER (SubjectPublicKeyInfo) or a file"),
    ] = None,
    key_id: Annotated[str | None, typer.Option(help="verification_key_id to trust")] = None,
    key_version: Annotated[
        str | None, typer.Option(help="verification_key_version to trust")
    ] = None,
    show: Annotated[int, typer.Option(help="how many keys to list")] = 5,
) -> None:
    """Show a diagnosis-key export file and, with --public-key, verify its signature.

    Exit code 1 if the signature is invalid (or missing), 2 if the file is malformed.
    """
    console = _console()
    data = file.read_bytes()
    public_keys: dict[tuple[str, str], ec.EllipticCurvePublicKey] | None = None
    if public_key is not None:
        key = _load_public_key(public_key)
        if key_id is not None and key_version is not None:
            public_keys = {(key_id, key_version): key}
        else:
            # Trust the key under whatever id/version the file names (filtered by what was given).
            listed = export.read_export(data).signatures
            public_keys = {
                s.signature_info.key: key
                for s in listed
                if key_id in (None, s.signature_info.verification_key_id)
                and key_version in (None, s.signature_info.verification_key_version)
            }
    try:
        result = export.read_export(data, public_keys)
    except (InvalidSignatureError, UnsignedExportError) as exc:
        console.print(f"signature: [red]INVALID[/red] ({exc})")
        raise typer.Exit(1) from exc
    except EnError as exc:
        console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from exc

    def when(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat()

    console.print(f"header: {export.EXPORT_HEADER.decode()!r}")
    console.print(f"region: {result.region}")
    console.print(f"time window: {when(result.start_timestamp)} .. {when(result.end_timestamp)}")
    console.print(f"batch: {result.batch_num} of {result.batch_size}")
    console.print(f"keys: {len(result.keys)}, revised keys: {len(result.revised_keys)}")
    table = Table("key_data", "rolling start", "period", "TRL", "report type", "days since onset")
    for k in result.keys[:show]:
        table.add_row(
            k.key_data.hex(),
            str(k.rolling_start_interval_number),
            str(k.rolling_period),
            str(k.transmission_risk_level),
            k.report_type.name,
            "" if k.days_since_onset_of_symptoms is None else str(k.days_since_onset_of_symptoms),
        )
    console.print(table)
    for sig in result.signatures:
        info = sig.signature_info
        console.print(
            f"signature: key id {info.verification_key_id!r} version "
            f"{info.verification_key_version!r} algorithm {info.signature_algorithm}"
        )
    if public_keys is None:
        console.print("signature: not checked (no --public-key)")
    else:
        console.print(f"signature: [green]VALID[/green] ({len(result.verified_by)} verified)")


def _window(data: dict[str, Any]) -> ExposureWindow:
    return ExposureWindow(
        date=date.fromisoformat(data["date"]),
        report_type=data["report_type"],
        infectiousness=data["infectiousness"],
        calibration_confidence=data.get("calibration_confidence", 0),
        scan_instances=tuple(ScanInstance(**s) for s in data["scan_instances"]),
    )


# The help is plain text, one paragraph a string, so --help shows it without markup.
RISK_HELP = "\n\n".join(
    (
        "Score exposure windows (JSON in) and print the daily summary and risk level (JSON out).",
        (
            'Input: {"today": "YYYY-MM-DD", "exposure_windows": [...], "parameters": {...}}. '
            "The parameters (Corona-Warn-App JSON form) are optional and default to the "
            "Corona-Warn-App profile; a bare list of windows is accepted too."
        ),
        (
            "Each window has date, report_type, infectiousness, calibration_confidence and "
            "scan_instances; each scan instance has min_attenuation_db, typical_attenuation_db "
            "and seconds_since_last_scan."
        ),
    )
)


@app.command(help=RISK_HELP)
def risk(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="windows as JSON")],
) -> None:
    """Score exposure windows (JSON in); print the daily summary and risk level (JSON out)."""
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        document: dict[str, Any] = {"exposure_windows": raw} if isinstance(raw, list) else raw
        windows = [_window(w) for w in document["exposure_windows"]]
        parameters = (
            RiskParameters.from_json(document["parameters"])
            if "parameters" in document
            else cwa_default()
        )
        today = (
            date.fromisoformat(document["today"])
            if "today" in document
            else datetime.now(UTC).date()
        )
        result = evaluate(windows, parameters, today)
    except (ValueError, KeyError, TypeError) as exc:
        typer.echo(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), err=True)
        raise typer.Exit(2) from exc
    output = result.to_json()
    output["today"] = today.isoformat()
    output["daily_summaries"] = [
        {
            "date": s.date.isoformat(),
            "maximum_score": s.maximum_score,
            "score_sum": s.score_sum,
            "weighted_duration_sum": s.weighted_duration_sum,
        }
        for s in daily_summaries(windows)
    ]
    typer.echo(json.dumps(output, indent=2))
