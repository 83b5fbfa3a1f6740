"""``safezone device``: run the reference device on a real radio, check, upload, status.

bumble is imported only by ``run`` (the ``device`` extra); the other commands work without it.
Output is Vietnamese first, English second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from safezone.device.client import ServerClient, ServerError
from safezone.device.service import DeviceConfig, Exposure, ReferenceDevice
from safezone.device.store import StateBusy, StateError, StateFile
from safezone.en.device import DEFAULT_CALIBRATION, DeviceCalibration
from safezone.en.errors import EnError
from safezone.en.risk import RiskParameters

app = typer.Typer(
    name="device",
    help="Reference exposure-notification device (bumble): run, check, upload, status.",
    no_args_is_help=True,
)


def default_data_dir() -> Path:
    """``$SAFEZONE_DEVICE_DIR``, else ``$XDG_DATA_HOME/safezone-device`` (~/.local/share)."""
    if configured := os.environ.get("SAFEZONE_DEVICE_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "safezone-device"


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help=(
            "Encrypted state and its key ($SAFEZONE_DEVICE_DIR or ~/.local/share/safezone-device)."
        ),
    ),
]
Server = Annotated[str, typer.Option("--server", help="The safezone server, e.g. https://…")]
ApiKey = Annotated[
    str,
    typer.Option("--api-key", envvar="SAFEZONE_DEVICE_API_KEY", help="The app's X-API-Key."),
]
Region = Annotated[str, typer.Option("--region", help="Export region (index.txt folder).")]
Authority = Annotated[
    str, typer.Option("--health-authority", help="healthAuthorityID for publish.")
]


RiskFile = Annotated[
    Path | None,
    typer.Option(
        "--risk", help="Risk parameters, Corona-Warn-App JSON (default: CWA's published ones)."
    ),
]


TxPower = Annotated[
    int, typer.Option("--tx-power", help="This radio's TX power (dBm), sent in the metadata.")
]
RssiCorrection = Annotated[
    int, typer.Option("--rssi-correction", help="Added to RSSI this radio measures (dB).")
]


def _calibration(tx_power: int, rssi_correction: int) -> dict[str, Any]:
    try:
        return {"calibration": DeviceCalibration(tx_power, rssi_correction)}
    except ValueError as exc:
        typer.echo(f"Hiệu chuẩn sai / bad calibration: {exc}", err=True)
        raise typer.Exit(2) from None


def _risk(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return {"risk": RiskParameters.from_json(json.loads(path.read_text(encoding="utf-8")))}
    except (OSError, ValueError) as exc:
        typer.echo(f"Tham số nguy cơ sai / bad risk parameters: {exc}", err=True)
        raise typer.Exit(2) from None


def _device(data_dir: Path | None, radio: Any = None, **config: Any) -> ReferenceDevice:
    try:
        settings = DeviceConfig(**config)
    except ValueError as exc:
        typer.echo(f"Thiết lập sai / bad settings: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        return ReferenceDevice(
            radio, config=settings, state_file=StateFile(data_dir or default_data_dir())
        )
    except StateError as exc:
        typer.echo(f"Không đọc được trạng thái / cannot read the state: {exc}", err=True)
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _holding(data_dir: Path | None) -> Iterator[None]:
    """Hold the state for this command, or stop: a running device owns it."""
    try:
        with StateFile(data_dir or default_data_dir()).lock():
            yield
    except StateBusy:
        typer.echo(
            "Thiết bị đang chạy (safezone device run); hãy dừng nó trước. / "
            "The device is running (safezone device run); stop it first.",
            err=True,
        )
        raise typer.Exit(3) from None


def _server(url: str, api_key: str, region: str, authority: str) -> ServerClient:
    http = httpx.Client(base_url=url, timeout=60.0, headers={"User-Agent": "safezone-device"})
    return ServerClient(http, api_key=api_key, health_authority=authority, region=region)


def _print_exposures(exposures: list[Exposure]) -> None:
    if not exposures:
        typer.echo("Không có tiếp xúc nguy cơ. / No risky exposure.")
        return
    for exposure in exposures:
        typer.echo(exposure.describe("vi"))
        typer.echo("  " + exposure.describe("en"))


def _radio_failed(transport: str, exc: BaseException) -> NoReturn:
    typer.echo(
        f"Không dùng được bộ phát Bluetooth / cannot use the Bluetooth transport {transport}: "
        f"{type(exc).__name__}: {exc}. Xem / see docs/device.md (quyền / permissions).",
        err=True,
    )
    raise typer.Exit(2) from None


def _check(device: ReferenceDevice, server: ServerClient) -> None:
    try:
        exposures = device.check(server)
    except (ServerError, EnError, httpx.HTTPError) as exc:
        typer.echo(f"Kiểm tra thất bại / check failed: {exc}", err=True)
        return
    _print_exposures(exposures)


@app.command()
def run(
    server: Server,
    transport: Annotated[
        str,
        typer.Option(
            "--transport",
            help="bumble transport: hci-socket:0, usb:0, tcp-client:HOST:PORT, …",
        ),
    ] = "hci-socket:0",
    data_dir: DataDir = None,
    api_key: ApiKey = "",
    region: Region = "VN",
    health_authority: Authority = "safezone-demo",
    check_hours: Annotated[
        float, typer.Option("--check-hours", help="Download and match every N hours.")
    ] = 6.0,
    scan_seconds: Annotated[float, typer.Option(help="Each scan lasts this long.")] = 4.0,
    scan_period: Annotated[float, typer.Option(help="A scan starts this often (s).")] = 300.0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run forever).")
    ] = None,
    risk: RiskFile = None,
    tx_power: TxPower = DEFAULT_CALIBRATION.tx_power,
    rssi_correction: RssiCorrection = DEFAULT_CALIBRATION.rssi_correction,
    decoys: Annotated[
        float,
        typer.Option(
            "--decoys",
            min=0.0,
            max=1.0,
            help="Probability of a decoy upload (X-Chaff) after each check.",
        ),
    ] = 0.25,
) -> None:
    """Advertise, scan and check exposures on a real radio (needs the device extra)."""
    try:
        from safezone.device.bumble_radio import open_bumble_radio
    except ImportError:
        typer.echo("Cần cài safezone[device] / install safezone[device] (bumble).", err=True)
        raise typer.Exit(2) from None
    client = _server(server, api_key, region, health_authority)

    settings = {
        "scan_seconds": scan_seconds,
        "scan_period_seconds": scan_period,
        **_risk(risk),
        **_calibration(tx_power, rssi_correction),
    }
    _device(data_dir, **settings)  # a bad state or setting fails before the radio is taken

    async def main() -> None:
        try:
            radio, hci = await open_bumble_radio(transport)
        except Exception as exc:  # noqa: BLE001 -- bumble raises bare Exception; report, stop
            _radio_failed(transport, exc)
        device = _device(data_dir, radio, **settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if duration is not None:
            loop.call_later(duration, stop.set)
        next_check = 0.0

        async def between_cycles() -> None:
            nonlocal next_check
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + check_hours * 3600
                await asyncio.to_thread(_check, device, client)
                await asyncio.to_thread(device.maybe_decoy, client, decoys)

        typer.echo(f"Đang chạy / running on {transport}; Ctrl-C để dừng / to stop.")
        try:
            await device.run(stop, between_cycles=between_cycles)
        except RuntimeError as exc:  # the controller cannot do what the device needs
            _radio_failed(transport, exc)
        finally:
            await hci.close()

    with _holding(data_dir):
        asyncio.run(main())


@app.command()
def check(
    server: Server,
    data_dir: DataDir = None,
    region: Region = "VN",
    risk: RiskFile = None,
    rssi_correction: RssiCorrection = DEFAULT_CALIBRATION.rssi_correction,
) -> None:
    """Download the region's signed exports once, verify, match and explain."""
    calibration = _calibration(DEFAULT_CALIBRATION.tx_power, rssi_correction)
    with _holding(data_dir):
        _check(_device(data_dir, **_risk(risk), **calibration), _server(server, "", region, ""))


@app.command()
def upload(
    server: Server,
    code: Annotated[str, typer.Option("--code", help="The code from the health worker.")],
    data_dir: DataDir = None,
    api_key: ApiKey = "",
    health_authority: Authority = "safezone-demo",
    include_today: Annotated[
        bool, typer.Option(help="Also upload today's key (cut to now and replaced).")
    ] = False,
) -> None:
    """Upload this device's keys with a health worker's code (Google-compatible API)."""
    with _holding(data_dir):
        device = _device(data_dir)
        try:
            published = device.upload(
                _server(server, api_key, "", health_authority), code, include_today=include_today
            )
        except (ServerError, EnError, httpx.HTTPError) as exc:
            typer.echo(f"Gửi khoá thất bại / upload failed: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"Đã gửi {published.inserted} khoá. / Uploaded {published.inserted} keys.")


@app.command()
def status(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the device's keys, sightings and exposures (never whom)."""
    device = _device(data_dir)
    info = device.status()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    days = ", ".join(datetime.fromisoformat(d).strftime("%d/%m/%Y") for d in info["key_days"])
    typer.echo(f"Khoá / keys: {info['keys']} ({days or '-'})")
    typer.echo(
        f"Lần nhìn thấy / sightings: {info['sightings']} "
        f"({info['distinct_rpis']} RPI khác nhau / distinct RPIs)"
    )
    if info["checked_at"] is None:
        typer.echo("Chưa kiểm tra / never checked.")
    else:
        when = datetime.fromtimestamp(info["checked_at"], UTC).strftime("%d/%m/%Y %H:%M UTC")
        typer.echo(f"Kiểm tra lần cuối / last check: {when}")
        _print_exposures([Exposure.from_json(e) for e in info["exposures"]])


@app.command("sim-link")
def sim_link(
    placements: Annotated[
        list[str],
        typer.Argument(help="TRANSPORT@X,Y per controller, e.g. tcp-server:_:9000@0,0"),
    ],
) -> None:
    """Serve simulated controllers (RSSI from distance) for devices without hardware."""
    try:
        from safezone.device.simradio import parse_placement, serve_room
    except ImportError:
        typer.echo("Cần cài bumble / install the device extra (bumble).", err=True)
        raise typer.Exit(2) from None
    parsed = [parse_placement(p) for p in placements]
    listening = ", ".join(f"{t} @ {p}" for t, p in parsed)

    def ready() -> None:
        typer.echo(f"Sẵn sàng / ready: {listening}")

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_room(parsed, on_ready=ready))
