"""Ingestion: readers per file format, checks per kind, atomic and idempotent batches."""

from earnright.ingest.batch import IngestResult, ingest_file
from earnright.ingest.kinds import KINDS

__all__ = ["KINDS", "IngestResult", "ingest_file"]
