"""One typed settings object from the environment (prefix STRAATSTEM_, plus DATABASE_URL).

Every setting is validated at start-up; a bad value raises SettingsError whose message names
the variable and what to fix, so the CLI can print it on one line. Privacy floors are enforced
here in code: a deployment can make things stricter, never laxer than the floor.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from aggregation.releases import LAYER_PARTS, PUBLIC_THRESHOLD_FLOOR
from aggregation.retention import RAW_HORIZON_FLOOR_DAYS
from privacy.kanon import K_FLOOR

# An opinion group shown in a report or used for routing has at least this many members: a
# smaller group's representative statements would describe a handful of identifiable people.
GROUP_SIZE_FLOOR = 3

PREFIX = "STRAATSTEM_"

# Release layers and their default epsilon per report and bucket (DESIGN.md section 3: a
# lifetime budget per report of 2.0 for staff, spent in its month's release, and 1.0 for the
# public, spent in its quarter's release). Each layer is one noisy histogram in which a report
# counts once.
STAFF_LAYERS = ("total", *LAYER_PARTS)
PUBLIC_LAYERS = ("total",)
DEFAULT_STAFF_EPSILON = {
    "total": Fraction(4, 5),
    "category": Fraction(3, 10),
    "band": Fraction(3, 10),
    "felt_safety": Fraction(3, 10),
    "category_band": Fraction(3, 10),
}
DEFAULT_PUBLIC_EPSILON = {"total": Fraction(1)}
# Ceilings in code: a deployment may spend less, never more than this per report and bucket.
STAFF_EPSILON_CEILING = Fraction(4)
PUBLIC_EPSILON_CEILING = Fraction(2)


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class ClientLimits:
    """What a client gets to send a request (api/server.py enforces them on every connection):
    the request line and headers within `header_timeout_seconds` of connecting or of the
    previous response, the body within `body_timeout_seconds` of the headers, and at most
    `max_header_bytes` of request line and headers. Slow senders (slowloris) would otherwise
    hold a connection and its buffers for as long as they like."""

    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 30
    max_header_bytes: int = 16_384


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".straatstem")
    secret_key: bytes = field(default=b"", repr=False)
    # Proof-of-work signing keys: a dedicated key (else derived from secret_key) and, during a
    # rotation, the previous one, still accepted for one challenge lifetime.
    pow_key: bytes | None = field(default=None, repr=False)
    pow_key_previous: bytes | None = field(default=None, repr=False)
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
    release_k: int = 5
    staff_epsilon: dict[str, Fraction] = field(default_factory=lambda: dict(DEFAULT_STAFF_EPSILON))
    staff_epsilon_cap: Fraction = Fraction(2)
    public_epsilon: dict[str, Fraction] = field(default_factory=lambda: dict(DEFAULT_PUBLIC_EPSILON))
    public_epsilon_cap: Fraction = Fraction(1)
    public_threshold: int = 10
    release_delay_days: int = 3
    raw_horizon_days: int = 120
    session_hours: int = 8
    run_jobs: bool = True
    group_min_size: int = 5
    session_prompts: int = 12
    recompute_votes: int = 50
    flag_threshold: int = 3
    nlp_model: str | None = None
    toxicity_model: str | None = None
    ner_model: str | None = None
    actions_discussion: str | None = None
    # An optional base map for the web pages (off by default: no request leaves the server).
    tile_url: str | None = None
    tile_attribution: str = ""
    # Browser origins allowed to call the API cross-origin (api/security.py); none by default.
    cors_origins: tuple[str, ...] = ()
    client_limits: ClientLimits = field(default_factory=ClientLimits)

    def __post_init__(self) -> None:
        # Floors and ceilings hold for every way of building settings, not only the environment.
        if self.release_k < K_FLOOR:
            raise SettingsError(f"{PREFIX}RELEASE_K must be at least {K_FLOOR}")
        if self.public_threshold < PUBLIC_THRESHOLD_FLOOR:
            raise SettingsError(f"{PREFIX}PUBLIC_THRESHOLD must be at least {PUBLIC_THRESHOLD_FLOOR}")
        if self.group_min_size < GROUP_SIZE_FLOOR:
            raise SettingsError(f"{PREFIX}GROUP_MIN_SIZE must be at least {GROUP_SIZE_FLOOR}")
        if self.raw_horizon_days < RAW_HORIZON_FLOOR_DAYS:
            raise SettingsError(f"{PREFIX}RAW_HORIZON_DAYS must be at least {RAW_HORIZON_FLOOR_DAYS}")
        _check_layers("STAFF_EPSILON", self.staff_epsilon, STAFF_LAYERS, self.staff_epsilon_cap, STAFF_EPSILON_CEILING)
        _check_layers(
            "PUBLIC_EPSILON", self.public_epsilon, PUBLIC_LAYERS, self.public_epsilon_cap, PUBLIC_EPSILON_CEILING
        )

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def derived_key(self, purpose: str) -> bytes:
        """A purpose-bound key from the deployment secret, so one leaked purpose key cannot
        forge another (receipts, PoW signatures, submission fingerprints)."""
        import hashlib
        import hmac

        return hmac.new(self.secret_key, b"straatstem/" + purpose.encode(), hashlib.sha256).digest()

    def pow_keys(self) -> tuple[bytes, tuple[bytes, ...]]:
        """The key that signs new challenges, and the keys still accepted when verifying."""
        current = self.pow_key or self.derived_key("pow")
        return current, (self.pow_key_previous,) if self.pow_key_previous else ()


def _check_layers(
    name: str, layers: Mapping[str, Fraction], allowed: tuple[str, ...], cap: Fraction, ceiling: Fraction
) -> None:
    if cap <= 0 or cap > ceiling:
        raise SettingsError(f"{PREFIX}{name}_CAP must be above 0 and at most {ceiling}")
    unknown = sorted(set(layers) - set(allowed))
    if unknown:
        raise SettingsError(f"{PREFIX}{name} has unknown layer {unknown[0]!r}; layers are {', '.join(allowed)}")
    if not layers or any(value <= 0 for value in layers.values()):
        raise SettingsError(f"{PREFIX}{name} needs a positive epsilon for every layer it lists")
    if "total" not in layers:
        raise SettingsError(f"{PREFIX}{name} must include the total layer")
    if sum(layers.values(), Fraction(0)) > cap:
        raise SettingsError(f"{PREFIX}{name} adds up to more than {PREFIX}{name}_CAP ({cap})")


def _fraction(raw: str, what: str) -> Fraction:
    try:
        value = Fraction(Decimal(raw.strip()))
    except (InvalidOperation, ValueError):
        raise SettingsError(f"{what} must be a decimal number, got {raw!r}") from None
    return value


def _epsilons(env: Mapping[str, str], name: str, default: dict[str, Fraction]) -> dict[str, Fraction]:
    """`layer=epsilon,...`, for example `total=0.8,category=0.3`."""
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return dict(default)
    layers: dict[str, Fraction] = {}
    for item in raw.split(","):
        layer, sep, value = item.partition("=")
        if not sep or not layer.strip():
            raise SettingsError(f"{PREFIX}{name} must look like total=0.8,category=0.3")
        layers[layer.strip()] = _fraction(value, f"{PREFIX}{name} ({layer.strip()})")
    return layers


def _cap(env: Mapping[str, str], name: str, default: Fraction) -> Fraction:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    return _fraction(raw, PREFIX + name)


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


def _hex_key(env: Mapping[str, str], name: str) -> bytes | None:
    raw = (env.get(PREFIX + name) or "").strip()
    if not raw:
        return None
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be hex (generate: openssl rand -hex 32)") from None
    if len(key) < 32:
        raise SettingsError(f"{PREFIX}{name} must be at least 32 bytes (64 hex characters)")
    return key


def _secret(env: Mapping[str, str], data_dir: Path) -> bytes:
    key = _hex_key(env, "SECRET_KEY")
    if key is not None:
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
        pow_key=_hex_key(env, "POW_KEY"),
        pow_key_previous=_hex_key(env, "POW_KEY_PREVIOUS"),
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
        release_k=_int(env, "RELEASE_K", 5, K_FLOOR, 1000),
        staff_epsilon=_epsilons(env, "STAFF_EPSILON", DEFAULT_STAFF_EPSILON),
        staff_epsilon_cap=_cap(env, "STAFF_EPSILON_CAP", Fraction(2)),
        public_epsilon=_epsilons(env, "PUBLIC_EPSILON", DEFAULT_PUBLIC_EPSILON),
        public_epsilon_cap=_cap(env, "PUBLIC_EPSILON_CAP", Fraction(1)),
        public_threshold=_int(env, "PUBLIC_THRESHOLD", 10, PUBLIC_THRESHOLD_FLOOR, 100_000),
        release_delay_days=_int(env, "RELEASE_DELAY_DAYS", 3, 0, 90),
        raw_horizon_days=_int(env, "RAW_HORIZON_DAYS", 120, RAW_HORIZON_FLOOR_DAYS, 366),
        session_hours=_int(env, "SESSION_HOURS", 8, 1, 168),
        run_jobs=_bool(env, "RUN_JOBS", True),
        group_min_size=_int(env, "GROUP_MIN_SIZE", 5, GROUP_SIZE_FLOOR, 1000),
        session_prompts=_int(env, "SESSION_PROMPTS", 12, 1, 500),
        recompute_votes=_int(env, "RECOMPUTE_VOTES", 50, 1, 1_000_000),
        flag_threshold=_int(env, "FLAG_THRESHOLD", 3, 1, 1000),
        # A local model folder, "lexical" for the fallback only, unset for the packaged model.
        nlp_model=(env.get(PREFIX + "NLP_MODEL") or "").strip() or None,
        # Optional local transformers models; unset: the lexicon / the PII scrubber alone.
        toxicity_model=(env.get(PREFIX + "TOXICITY_MODEL") or "").strip() or None,
        ner_model=(env.get(PREFIX + "NER_MODEL") or "").strip() or None,
        # The discussion the Rasa action server talks about when a conversation names none.
        actions_discussion=(env.get(PREFIX + "ACTIONS_DISCUSSION") or "").strip() or None,
        tile_url=_tile_url(env),
        tile_attribution=(env.get(PREFIX + "TILE_ATTRIBUTION") or "").strip()[:300],
        cors_origins=_cors_origins(env),
        client_limits=client_limits(env),
    )


def client_limits(env: Mapping[str, str] | None = None) -> ClientLimits:
    """Also read by api/server.py in every worker process, from the same environment."""
    env = os.environ if env is None else env
    return ClientLimits(
        header_timeout_seconds=_int(env, "HEADER_TIMEOUT_SECONDS", 10, 1, 300),
        body_timeout_seconds=_int(env, "BODY_TIMEOUT_SECONDS", 30, 1, 600),
        max_header_bytes=_int(env, "MAX_HEADER_BYTES", 16_384, 4_096, 1_048_576),
    )


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(rf"https://({_LABEL}(?:\.{_LABEL})*)(?::([0-9]{{1,5}}))?")


def _cors_origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """Exact https origins, as browsers send them in `Origin`: lower case, and without the
    default port (https://kaart.example.nl:443 is stored as https://kaart.example.nl). No
    wildcards and no paths: an origin allowed here can read every API answer a visitor's
    browser can get."""
    origins: list[str] = []
    for item in (env.get(PREFIX + "CORS_ORIGINS") or "").split(","):
        if not item.strip():
            continue
        match = _ORIGIN.fullmatch(item.strip().lower())
        if match is None or (match.group(2) is not None and not 1 <= int(match.group(2)) <= 65535):
            raise SettingsError(
                f"{PREFIX}CORS_ORIGINS must be a comma-separated list of https origins such as "
                f"https://kaart.example.nl (scheme, host and optional port; no path, no wildcard), got {item.strip()!r}"
            )
        host, port = match.group(1), match.group(2)
        origin = f"https://{host}" + (f":{int(port)}" if port is not None and int(port) != 443 else "")
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def _tile_url(env: Mapping[str, str]) -> str | None:
    """An XYZ tile template such as PDOK's BRT-Achtergrondkaart
    (https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png).
    Its origin is added to the pages' Content-Security-Policy, so it must be https with a plain
    host name and the {z}, {x} and {y} placeholders."""
    raw = (env.get(PREFIX + "TILE_URL") or "").strip()
    if not raw:
        return None
    match = re.fullmatch(r"https://(\{s\}\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?/[^\s\"'<>;,]*", raw)
    if match is None or not all(part in raw for part in ("{z}", "{x}", "{y}")):
        raise SettingsError(
            f"{PREFIX}TILE_URL must be an https:// tile template with {{z}}, {{x}} and {{y}}, "
            "e.g. https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
        )
    return raw
