"""Exposure Notification (Google/Apple GAEN v1.2) protocol library.

Pure and self-contained: it imports nothing else from safezone. Modules:

- :mod:`safezone.en.crypto` -- TEK, ENIntervalNumber, RPIK/AEMK, RPI, AEM
- :mod:`safezone.en.payload` -- BLE advertisement (service 0xFD6F)
- :mod:`safezone.en.export` -- signed diagnosis-key export files
- :mod:`safezone.en.tekmac` -- verification-protocol HMAC over keys
- :mod:`safezone.en.device` -- key store, encounter log, matching, exposure windows
- :mod:`safezone.en.matcher` -- fast batch matching of many keys against a log
- :mod:`safezone.en.risk` -- ENv1 buckets, ENv2 daily summaries, Corona-Warn-App risk
- :mod:`safezone.en.errors` -- exceptions, all subclasses of :class:`EnError`
"""
