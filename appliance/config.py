"""Settings: one YAML file -> one frozen, validated object.

Defaults live here and nowhere else; config/hearth.example.yaml documents every key (a test keeps
the two in step). A bad file raises ConfigError naming the key path and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG_FILE = Path("hearth.yaml")

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names every bad key."""


def _parse_size(value: Any) -> Any:
    """Accept 1048576, "1 MiB", "10MB"; leave anything else for pydantic to reject."""
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError("expected a size such as 1048576, '512 KiB' or '10 MB'")
        return int(float(match.group(1)) * _SIZE_UNITS[unit])
    return value


def _check_address(value: str) -> str:
    ipaddress.ip_address(value)  # raises ValueError with a clear message
    return value


Port = Annotated[int, Field(ge=1, le=65535)]
ByteSize = Annotated[int, BeforeValidator(_parse_size), Field(ge=1)]
IPAddressText = Annotated[str, BeforeValidator(_check_address)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ServerSettings(Section):
    host: str = "0.0.0.0"  # noqa: S104  (an appliance serves its LAN)
    port: Port = 8443
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: str | None = None
    shutdown_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    write_timeout_seconds: Annotated[float, Field(ge=1, le=120)] = 10.0

    @field_validator("public_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must start with https://")
        return value.rstrip("/") if value else value


class TLSSettings(Section):
    cert_file: Path | None = None
    key_file: Path | None = None
    extra_names: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _pair(self) -> TLSSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        return self


class RegistrationSettings(Section):
    mode: Literal["open", "invite", "closed"] = "invite"


class AuthSettings(Section):
    bcrypt_cost: Annotated[int, Field(ge=4, le=16)] = 12
    session_days: Annotated[int, Field(ge=1, le=3650)] = 30
    access_token_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    refresh_token_days: Annotated[int, Field(ge=1, le=3650)] = 30
    invite_days: Annotated[int, Field(ge=1, le=365)] = 7
    reset_link_hours: Annotated[int, Field(ge=1, le=720)] = 24


class RateLimit(Section):
    """`count` events per `per_seconds` window, per key (an address or an account)."""

    count: Annotated[int, Field(ge=1)]
    per_seconds: Annotated[float, Field(gt=0)]


class LimitSettings(Section):
    max_body_bytes: ByteSize = 1024**2
    max_image_bytes: ByteSize = 10 * 1000**2
    max_file_bytes: ByteSize = 50 * 1000**2
    # What one person's uploads may take on disk in all; None: no quota.
    storage_per_user: ByteSize | None = None
    login_per_address: RateLimit = RateLimit(count=20, per_seconds=60)
    login_per_account: RateLimit = RateLimit(count=10, per_seconds=300)
    signup_per_address: RateLimit = RateLimit(count=10, per_seconds=3600)
    messages_per_user: RateLimit = RateLimit(count=30, per_seconds=10)
    changes_per_user: RateLimit = RateLimit(count=60, per_seconds=10)
    chats_per_user: RateLimit = RateLimit(count=20, per_seconds=60)
    password_checks_per_account: RateLimit = RateLimit(count=5, per_seconds=300)
    uploads_per_user: RateLimit = RateLimit(count=30, per_seconds=60)
    ws_frames_per_connection: RateLimit = RateLimit(count=120, per_seconds=10)


class MessageSettings(Section):
    max_length: Annotated[int, Field(ge=100, le=100_000)] = 4000
    event_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    max_reactions: Annotated[int, Field(ge=1, le=100)] = 20
    max_edits: Annotated[int, Field(ge=1, le=1000)] = 50
    # What happens to a deleted account's messages: kept, from "Deleted user", or removed.
    on_account_deleted: Literal["keep", "remove"] = "keep"


class ChatSettings(Section):
    max_members: Annotated[int, Field(ge=2, le=10_000)] = 256


def _folder_path(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("expected a folder's path, or null for the default")
    return value


FolderPath = Annotated[Path, BeforeValidator(_folder_path)]


class FileSettings(Section):
    # Where uploaded files are kept. None: data_dir/files. Several processes: one folder all
    # of them reach (docs/scale-out.md).
    folder: FolderPath | None = None
    # An upload no message refers to is removed after this long.
    unattached_hours: Annotated[float, Field(gt=0, le=24 * 365)] = 24
    # Pictures with more pixels are refused (decompression bombs among them).
    max_image_pixels: Annotated[int, Field(ge=1_000_000, le=1_000_000_000)] = 50_000_000


class MDNSSettings(Section):
    enabled: bool = True
    instance_name: str = "Hearth"
    host_name: str = "hearth"
    # The network interfaces people reach Hearth on: their addresses go in the mDNS records,
    # the certificate, the printed links and the call candidates (unless calls.addresses
    # lists its own). Empty: the interfaces that carry the LAN (net/addresses.py).
    interfaces: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()


class CallSettings(Section):
    enabled: bool = True
    addresses: tuple[IPAddressText, ...] = ()
    max_participants: Annotated[int, Field(ge=2, le=64)] = 12
    video_slots: Annotated[int, Field(ge=1, le=25)] = 9
    audio_slots: Annotated[int, Field(ge=1, le=25)] = 6
    ring_timeout_seconds: Annotated[float, Field(ge=5, le=300)] = 30
    bitrate_floor_kbps: Annotated[int, Field(ge=30, le=10_000)] = 150
    bitrate_ceiling_kbps: Annotated[int, Field(ge=30, le=20_000)] = 1500

    @field_validator("bitrate_ceiling_kbps")
    @classmethod
    def _ceiling_above_floor(cls, value: int, info: Any) -> int:
        floor = info.data.get("bitrate_floor_kbps")
        if floor is not None and value < floor:
            raise ValueError(f"must be at least calls.bitrate_floor_kbps ({floor})")
        return value


class EmailSettings(Section):
    """Optional SMTP for password reset links and mentions while away; off while smtp_host is
    null."""

    smtp_host: str | None = None
    smtp_port: Port = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "Hearth <hearth@hearth.local>"
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    mentions: bool = True
    mention_every_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30

    @model_validator(mode="after")
    def _login_pair(self) -> EmailSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: set both or neither")
        return self


class LoggingSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"
    access_log: bool = True


class MetricsSettings(Section):
    """Prometheus text at /metrics on a listener of its own (plain HTTP), never the app's."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 9464


class BackupSettings(Section):
    """Backups Hearth makes by itself into `folder` (a path; relative to where it starts)."""

    every_hours: Annotated[float, Field(ge=0, le=24 * 365)] = 0  # 0: off
    folder: Path = Path("backups")
    keep: Annotated[int, Field(ge=1, le=1000)] = 7


class StorageSettings(Section):
    # None: SQLite, hearth.db in the data folder. Or postgresql://user:password@host/database
    # for several Hearth processes sharing one database (docs/scale-out.md).
    url: str | None = None
    read_connections: Annotated[int, Field(ge=1, le=16)] = 3
    busy_timeout_ms: Annotated[int, Field(ge=0, le=60_000)] = 5000
    # PostgreSQL with several processes: let their write transactions run side by side
    # (more messages/s), at the cost of message ids no longer strictly in commit order within
    # a chat (docs/scale-out.md, "Writes take turns, unless"). Off: they take turns.
    parallel_writes: bool = False

    @field_validator("url")
    @classmethod
    def _known_engine(cls, url: str | None) -> str | None:
        if url is None or url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            return url
        raise ValueError("must start with sqlite:/// (a file) or postgresql://")


class BusSettings(Section):
    # memory://: one process. redis://host:6379/0: several Hearth processes sharing one
    # PostgreSQL (storage.url) tell each other what they committed (docs/scale-out.md).
    url: str = "memory://"
    # Names of this Hearth's keys in Redis (one Redis may serve several Hearths).
    prefix: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] = (
        "hearth"
    )

    @field_validator("url")
    @classmethod
    def _known_bus(cls, url: str) -> str:
        if url == "memory://" or url.startswith(("redis://", "rediss://", "unix://")):
            return url
        raise ValueError("must be memory:// or a redis:// URL")


class Settings(Section):
    data_dir: Path = Path("data")
    server: ServerSettings = ServerSettings()
    tls: TLSSettings = TLSSettings()
    registration: RegistrationSettings = RegistrationSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    chats: ChatSettings = ChatSettings()
    storage: StorageSettings = StorageSettings()
    bus: BusSettings = BusSettings()
    messages: MessageSettings = MessageSettings()
    files: FileSettings = FileSettings()
    mdns: MDNSSettings = MDNSSettings()
    calls: CallSettings = CallSettings()
    email: EmailSettings = EmailSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    backup: BackupSettings = BackupSettings()

    @model_validator(mode="after")
    def _shared_bus_needs_a_shared_database(self) -> Settings:
        if self.bus.url != "memory://" and not (self.storage.url or "").startswith("postgres"):
            raise ValueError(
                "bus.url is for several processes sharing one database: set storage.url to a "
                "postgresql:// URL too"
            )
        if self.files.folder is not None and _same_folder(self.files.folder, self.data_dir):
            raise ValueError(
                "files.folder is the data folder itself: name a folder of its own (such as "
                "data_dir/files, the default), where nothing but the files is kept"
            )
        if self.backup.every_hours > 0 and (self.storage.url or "").startswith("postgres"):
            raise ValueError(
                "backup.every_hours backs up an SQLite appliance; with storage.url on "
                "PostgreSQL, back the database up with pg_dump (docs/scale-out.md)"
            )
        return self

    @property
    def database_path(self) -> Path:
        return self.data_dir / "hearth.db"

    @property
    def database(self) -> Path | str:
        """The SQLite file, or the PostgreSQL URL of `storage.url`."""
        return self.storage.url or self.database_path

    @property
    def files_path(self) -> Path:
        """Where uploaded files are kept: `files.folder`, or data_dir/files."""
        return self.files.folder or self.data_dir / "files"


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {path}: {message}")
    return "\n".join(lines)


def parse(raw: Any, source: str = "config") -> Settings:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys, not {type(raw).__name__}"
        )
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{source} is not valid:\n{_describe(error)}") from None


def load(path: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read `path` (or the built-in defaults when None) and apply dotted-key overrides."""
    raw: Any = {}
    source = "built-in defaults"
    if path is not None:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if raw is None:
        raw = {}
    if isinstance(raw, dict) and overrides:
        for dotted, value in overrides.items():
            _set_dotted(raw, dotted, value)
    return parse(raw, source)


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = raw
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(parents)}: expected a mapping")
        node = child
    node[leaf] = value


def resolve_config_path(explicit: Path | None) -> Path | None:
    """`--config FILE` if given, else ./hearth.yaml if present, else built-in defaults."""
    if explicit is not None:
        return explicit
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None
