"""The reference exposure-notification device: GAEN on a real Bluetooth stack (bumble).

It advertises and scans through our :class:`~safezone.device.radio.Radio` interface (bumble
behind it), logs sightings in :mod:`safezone.en`'s encounter log, matches against signed
exports from a safezone server, and uploads its keys with Google's verification and key
server APIs. It imports nothing of ours but :mod:`safezone.en` (an import-linter contract).
See docs/device.md.
"""
