"""The :class:`~safezone.device.radio.Radio` on Google's Bluetooth stack, bumble.

Observed in bumble 0.0.236 (pinned in the ``device`` extra) and relied on here:

* non-connectable advertising through the legacy HCI commands reaches no scanner on bumble's
  virtual link, so we always use the *extended* advertising commands (an advertising set,
  BLE 5). The set is non-connectable and non-scannable and asks for legacy PDUs, so a real
  controller sends ADV_NONCONN_IND -- what phones' exposure-notification scanners listen
  for (many scan for legacy advertisements only);
* the virtual controller reports every advertisement twice, flagged connectable and the second
  time as a scan response; we pass the flag on and the device drops scan responses;
* the HCI scan duration and period are not settable, so the scan window is timed here.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from bumble.device import AdvertisingEventProperties, AdvertisingParameters, Device
from bumble.hci import Address, OwnAddressType

from safezone.device.radio import Report, ReportCallback, address_text

# Android's "low latency" advertising interval for EN is 200-270 ms; the virtual link runs
# faster so a short scan in a test hears every neighbour several times.
ADVERTISING_INTERVAL_MS: Final = 200.0
# A scan listens continuously while it lasts (window = interval).
SCAN_INTERVAL_MS: Final = 60.0


class BumbleRadio:
    """A radio over a bumble :class:`~bumble.device.Device` (virtual or real controller)."""

    def __init__(self, device: Device, *, advertising_interval_ms: float = ADVERTISING_INTERVAL_MS):
        """Drive ``device`` (not yet powered on)."""
        self.device = device
        self.advertising_interval_ms = advertising_interval_ms
        self._set: Any = None
        self._callback: ReportCallback | None = None
        self._lock = asyncio.Lock()
        device.on("advertisement", self._on_advertisement)

    async def start(self) -> None:
        """Power the controller on; it must support extended advertising."""
        await self.device.power_on()
        if not self.device.supports_le_extended_advertising:
            raise RuntimeError(
                "this controller lacks LE extended advertising (Bluetooth 5), needed to "
                "advertise non-connectable"
            )

    async def advertise(self, data: bytes, address: bytes) -> None:
        """Advertise ``data`` from ``address``; a second call rotates both together.

        The set is stopped while address and data change (controllers refuse a new random
        address on an enabled set), so no advertisement mixes an old address with new data.
        """
        random_address = Address(address, Address.RANDOM_DEVICE_ADDRESS)
        async with self._lock:
            if self._set is None:
                parameters = AdvertisingParameters(
                    advertising_event_properties=AdvertisingEventProperties(
                        is_connectable=False, is_scannable=False, is_legacy=True
                    ),
                    primary_advertising_interval_min=self.advertising_interval_ms,
                    primary_advertising_interval_max=self.advertising_interval_ms,
                    own_address_type=OwnAddressType.RANDOM,
                )
                self._set = await self.device.create_advertising_set(
                    advertising_parameters=parameters,
                    random_address=random_address,
                    advertising_data=data,
                )
                return
            await self._set.stop()
            await self._set.set_random_address(random_address)
            await self._set.set_advertising_data(data)
            await self._set.start()

    async def stop_advertising(self) -> None:
        """Stop the advertising set (if any)."""
        async with self._lock:
            if self._set is not None:
                await self._set.stop()
                await self._set.remove()
                self._set = None

    async def scan(self, callback: ReportCallback, seconds: float) -> None:
        """Scan passively for ``seconds``, timed here (bumble cannot set a duration)."""
        self._callback = callback
        await self.device.start_scanning(
            active=False, scan_interval=SCAN_INTERVAL_MS, scan_window=SCAN_INTERVAL_MS
        )
        try:
            await asyncio.sleep(seconds)
        finally:
            await self.device.stop_scanning()
            self._callback = None

    async def close(self) -> None:
        """Stop advertising and power the controller off."""
        await self.stop_advertising()
        await self.device.power_off()

    def _on_advertisement(self, advertisement: Any) -> None:
        callback = self._callback
        if callback is None:
            return
        callback(
            Report(
                address=address_text(bytes(advertisement.address)),
                data=bytes(advertisement.data_bytes),
                rssi=int(advertisement.rssi),
                scan_response=bool(advertisement.is_scan_response),
            )
        )


async def open_bumble_radio(transport: str) -> tuple[BumbleRadio, Any]:
    """Open a bumble transport (``usb:0``, ``hci-socket:0``, ``tcp-client:HOST:PORT``...).

    Returns the radio and the transport (close it after the radio).
    """
    from bumble.transport import open_transport

    hci = await open_transport(transport)
    device = Device.with_hci("safezone", Address("F0:F1:F2:F3:F4:F5"), hci.source, hci.sink)
    return BumbleRadio(device), hci
