"""Object storage: one protocol, a filesystem and an S3 (MinIO SDK) backend, chosen by STORAGE_URL.

The package is split by concern; everything the rest of the platform uses is importable from here:
  base        the ObjectStorage protocol, ObjectInfo, errors, bucket names and limits
  validation  checks of buckets, keys, content types, download names, link lifetimes and ranges
  streams     bounded readers, chunk iterators and the base class both backends share
  hashing     a SHA-256 whose state can be saved and resumed (chunked uploads across requests)
  filesystem  FilesystemStorage (files + metadata sidecars, HMAC-signed links)
  s3          MinioStorage (direct uploads of known hashes, else staging + server-side copy; assemblies; lock)
  config      storage_from_url(), get_storage(), init_app()
"""

from app.core.storage.base import (
    BUCKETS,
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    DEFAULT_RETENTION_DAYS,
    DOCUMENTS,
    EXPORTS,
    MAX_KEY_BYTES,
    MAX_OBJECT_SIZE,
    MAX_SEGMENT_BYTES,
    MAX_SIGNED_TTL,
    OPENED_BIDS,
    PART_SIZE,
    RECORDINGS,
    SEALED_BIDS,
    STAGING,
    UPLOADS,
    WINDOW_RECORDINGS,
    WRITE_ONCE,
    ByteStream,
    InvalidRange,
    ObjectInfo,
    ObjectStorage,
    StorageConfigError,
    StorageUnavailable,
    WriteOnceViolation,
)
from app.core.storage.config import get_storage, init_app, storage_from_url
from app.core.storage.filesystem import FilesystemStorage
from app.core.storage.s3 import MinioStorage
from app.core.storage.streams import CappedStream
from app.core.storage.validation import (
    content_disposition,
    validate_bucket,
    validate_content_type,
    validate_filename,
    validate_key,
    validate_prefix,
    validate_sha256,
    validate_ttl,
)

__all__ = [
    "BUCKETS",
    "CHUNK_SIZE",
    "DEFAULT_CONTENT_TYPE",
    "DEFAULT_RETENTION_DAYS",
    "DOCUMENTS",
    "EXPORTS",
    "MAX_KEY_BYTES",
    "MAX_OBJECT_SIZE",
    "MAX_SEGMENT_BYTES",
    "MAX_SIGNED_TTL",
    "OPENED_BIDS",
    "PART_SIZE",
    "RECORDINGS",
    "SEALED_BIDS",
    "STAGING",
    "UPLOADS",
    "WINDOW_RECORDINGS",
    "WRITE_ONCE",
    "ByteStream",
    "CappedStream",
    "FilesystemStorage",
    "InvalidRange",
    "MinioStorage",
    "ObjectInfo",
    "ObjectStorage",
    "StorageConfigError",
    "StorageUnavailable",
    "WriteOnceViolation",
    "content_disposition",
    "get_storage",
    "init_app",
    "storage_from_url",
    "validate_bucket",
    "validate_content_type",
    "validate_filename",
    "validate_key",
    "validate_prefix",
    "validate_sha256",
    "validate_ttl",
]
