"""One typed settings object from the environment (prefix STRAATSTEM_, plus DATABASE_URL).

Every setting is validated at start-up; a bad value raises SettingsError whose message names
the variable and what to fix, so the CLI can print it on one line. Privacy floors are enforced
here in code: a deployment can make things stricter, never laxer than the floor.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "STRAATSTEM_"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".straatstem")
    secret_key: bytes = field(default=b"", repr=False)
    pow_max_number: int = 50_000
    pow_ttl_seconds: int = 600
    rate_limit_per_day: int = 5
    rate_limit_per_cell: int = 1
    accept_coordinates: bool = False
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_body_bytes: int = 16_384
    db_pool_min: int = 2
    db_pool_max: int = 10
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def derived_key(self, purpose: str) -> bytes:
        """A purpose-bound key from the deployment secret, so one leaked purpose key cannot
        forge another (receipts, PoW signatures, submission fingerprints)."""
        import hashlib
        import hmac

        return hmac.new(self.secret_key, b"straatstem/" + purpose.encode(), hashlib.sha256).digest()


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{PREFIX}{name} must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def _secret(env: Mapping[str, str], data_dir: Path) -> bytes:
    raw = env.get(PREFIX + "SECRET_KEY")
    if raw:
        try:
            key = bytes.fromhex(raw.strip())
        except ValueError:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be hex (generate: openssl rand -hex 32)") from None
        if len(key) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 bytes (64 hex characters)")
        return key
    # Without an explicit key, keep a random one in the data directory (mode 0600) so receipts
    # and challenges survive restarts of a single-node install.
    path = data_dir / "secret.key"
    try:
        if path.exists():
            key = bytes.fromhex(path.read_text().strip())
            if len(key) >= 32:
                return key
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex())
        return key
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY is unset and {path} cannot be used ({exc.__class__.__name__}); "
            "set the variable or fix STRAATSTEM_DATA_DIR"
        ) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    database_url = env.get("DATABASE_URL") or None
    if database_url is not None and not database_url.startswith(("postgres://", "postgresql://")):
        raise SettingsError("DATABASE_URL must start with postgresql:// (or be unset for the embedded database)")
    data_dir = Path(env.get(PREFIX + "DATA_DIR") or ".straatstem").expanduser()
    if data_dir.exists() and not data_dir.is_dir():
        raise SettingsError(f"{PREFIX}DATA_DIR must be a directory, {data_dir} is a file")
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in (env.get(PREFIX + "TRUSTED_PROXIES") or "").split(","):
        if item.strip():
            try:
                proxies.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise SettingsError(f"{PREFIX}TRUSTED_PROXIES must be a comma-separated list of IP networks") from None
    level = (env.get(PREFIX + "LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    pool_min = _int(env, "DB_POOL_MIN", 2, 1, 100)
    pool_max = _int(env, "DB_POOL_MAX", 10, 1, 500)
    if pool_max < pool_min:
        raise SettingsError(f"{PREFIX}DB_POOL_MAX must be at least {PREFIX}DB_POOL_MIN")
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=_secret(env, data_dir),
        pow_max_number=_int(env, "POW_MAX_NUMBER", 50_000, 1_000, 100_000_000),
        pow_ttl_seconds=_int(env, "POW_TTL_SECONDS", 600, 30, 3600),
        # Floors: at least one report a day must stay possible; ceilings keep the cap a cap.
        rate_limit_per_day=_int(env, "RATE_LIMIT_PER_DAY", 5, 1, 1000),
        rate_limit_per_cell=_int(env, "RATE_LIMIT_PER_CELL", 1, 1, 1000),
        accept_coordinates=_bool(env, "ACCEPT_COORDINATES", False),
        trusted_proxies=tuple(proxies),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 16_384, 2_048, 1_048_576),
        db_pool_min=pool_min,
        db_pool_max=pool_max,
        log_level=level,
        log_json=_bool(env, "LOG_JSON", True),
    )
