"""Where export files go: a small interface with a local-directory and an S3 backend.

Paths are relative to ``/exposure/v1/`` (e.g. ``VN/index.txt``); both backends refuse any path
that could leave their root.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from safezone.config import Settings

#: Paths the exporter writes: ``REGION/index.txt`` and ``REGION/START-END-NNNNN.zip``.
PATH_PATTERN = re.compile(r"^[A-Za-z0-9]{2,16}/(index\.txt|[0-9]{1,12}-[0-9]{1,12}-[0-9]{5}\.zip)$")
INDEX_CACHE_SECONDS = 300
FILE_CACHE_SECONDS = 86400


class InvalidPath(ValueError):
    """A path that is not one of the exporter's."""


def check_path(path: str) -> str:
    """``path`` if it is an exporter path; InvalidPath otherwise (no traversal possible)."""
    if not PATH_PATTERN.fullmatch(path):
        raise InvalidPath(path)
    return path


def content_type(path: str) -> str:
    """The media type for an exporter path."""
    return "text/plain; charset=utf-8" if path.endswith(".txt") else "application/zip"


def cache_seconds(path: str) -> int:
    """Index files change every window; export files never change once written."""
    return INDEX_CACHE_SECONDS if path.endswith(".txt") else FILE_CACHE_SECONDS


class Storage(Protocol):
    """Store and fetch export files by path."""

    def put(self, path: str, data: bytes) -> None:
        """Write ``data`` at ``path`` (replacing it atomically)."""

    def get(self, path: str) -> bytes:
        """The bytes at ``path``; FileNotFoundError when absent."""

    def delete(self, path: str) -> None:
        """Remove ``path`` (no error when absent)."""

    def list(self, prefix: str = "") -> list[str]:
        """Every stored path starting with ``prefix``, sorted."""


class LocalStorage:
    """A directory; served by the web app at ``/exposure/v1/``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, path: str) -> Path:
        return self.root / check_path(path)

    def put(self, path: str, data: bytes) -> None:
        """Write to a temporary file, then rename: readers never see half a file."""
        target = self._file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temporary, 0o644)  # public files, served to every phone
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, path: str) -> bytes:
        """The file's bytes."""
        return self._file(path).read_bytes()

    def delete(self, path: str) -> None:
        """Remove the file if present."""
        self._file(path).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[str]:
        """Every exporter path under the root."""
        if not self.root.is_dir():
            return []
        found = []
        for file in self.root.glob("*/*"):
            relative = file.relative_to(self.root).as_posix()
            if PATH_PATTERN.fullmatch(relative) and relative.startswith(prefix):
                found.append(relative)
        return sorted(found)


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, moto ...) through boto3."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """A client for the configured bucket."""
        import boto3

        config = settings.exposure
        client = boto3.client(
            "s3",
            endpoint_url=config.s3_endpoint_url,
            region_name=config.s3_region,
            aws_access_key_id=(
                config.s3_access_key_id.get_secret_value() if config.s3_access_key_id else None
            ),
            aws_secret_access_key=(
                config.s3_secret_access_key.get_secret_value()
                if config.s3_secret_access_key
                else None
            ),
        )
        return cls(client, config.s3_bucket, config.s3_prefix)

    def _key(self, path: str) -> str:
        return self.prefix + check_path(path)

    def put(self, path: str, data: bytes) -> None:
        """Upload with the content type and cache headers a CDN should pass on."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(path),
            Body=data,
            ContentType=content_type(path),
            CacheControl=f"public, max-age={cache_seconds(path)}",
        )

    def get(self, path: str) -> bytes:
        """Download an object."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(path))
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(path) from None
        body: bytes = response["Body"].read()
        return body

    def delete(self, path: str) -> None:
        """Delete an object (S3 does not complain when it is absent)."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(path))

    def list(self, prefix: str = "") -> list[str]:
        """Every object under the configured prefix."""
        paginator = self.client.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                found.append(item["Key"][len(self.prefix) :])
        return sorted(found)


def storage_from_settings(settings: Settings) -> Storage:
    """The configured backend."""
    if settings.exposure.storage == "s3":
        return S3Storage.from_settings(settings)
    root = settings.exposure.local_dir or settings.data_dir / "exposure"
    return LocalStorage(root)
