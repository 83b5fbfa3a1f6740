"""Protobuf messages of the diagnosis-key export format.

``export_pb2`` is generated from ``export.proto`` by the official protobuf tooling; do not edit
it by hand. Regenerate from the repository root with::

    PATH=.venv/bin:$PATH .venv/bin/python -m grpc_tools.protoc -I src \\
        --python_out=src --mypy_out=src src/safezone/en/proto/export.proto
"""
