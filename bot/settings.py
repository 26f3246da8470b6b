"""One typed settings object, read from the environment and validated at start-up."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from storage.crypto import AddressBox

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "sahay-development-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    """Every environment variable Sahay reads. README.md lists them in a table."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    sahay_env: Literal["development", "production"] = "development"
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'sahay.db'}"
    secret_key: str = DEV_SECRET
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # `sahay run` starts this many `sahay web` processes (sharing PORT) and delivery workers.
    web_processes: int = Field(default=1, ge=1, le=32)
    worker_processes: int = Field(default=1, ge=1, le=32)
    # People one `sahay web` process answers at once after their webhooks (bot/gateway.py).
    answer_concurrency: int = Field(default=4, ge=1, le=256)
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    rasa_timeout_seconds: float = Field(default=30.0, gt=0)
    action_server_url: str = "http://127.0.0.1:5055"
    default_language: str = "en"
    deployment: str = "maldives"
    directory_file: Path | None = None
    log_level: str = "INFO"
    # /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>" when this is set.
    metrics_token: str = ""
    worker_poll_seconds: float = Field(default=2.0, gt=0)
    var_dir: Path = PROJECT_ROOT / "var"
    # Where Telegram and WhatsApp reach this deployment (https://...): uploaded recordings and
    # images are fetched from PUBLIC_URL/media/... . Unset: the address the staff page is on.
    public_url: str = ""
    # Rasa's tracker store (an SQLAlchemy URL); unset: derived, see `tracker_store_url`.
    tracker_store: str = Field(default="", validation_alias="tracker_store_url")
    # Fernet keys for channel addresses, comma-separated, newest first (storage/crypto.py).
    encryption_keys: str = ""
    # Telegram. Polling when only the token is set; webhook mode when the URL is set too.
    telegram_bot_token: str = ""
    telegram_webhook_url: str = ""
    # Checked on every webhook call (X-Telegram-Bot-Api-Secret-Token); derived when unset.
    telegram_webhook_secret: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,256}$")
    # python-telegram-bot's `base_url`: the token is appended (or fills "{token}").
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # Without a webhook, one worker polls: `sahay run` turns this off for the others.
    telegram_poll: bool = True
    telegram_poll_timeout_seconds: int = Field(default=25, ge=0, le=50)
    # WhatsApp Cloud API.
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_api_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    model_dir: Path = PROJECT_ROOT / "var" / "models"
    # Broadcasts. With REDIS_URL set, delivery workers share one rate limit per platform.
    redis_url: str = ""
    telegram_paid_broadcast: bool = False  # allow_paid_broadcast: up to 1000 messages/s
    whatsapp_messages_per_second: int = Field(default=80, ge=1, le=1000)
    broadcast_concurrency: int = Field(default=100, ge=1, le=1000)
    # Machine-translation drafts for staff (googletrans). People's own messages are sent to
    # the translator only when the deployment switches that on.
    translate_url: str = "https://translate.googleapis.com"
    translate_timeout_seconds: float = Field(default=5.0, gt=0)
    translate_person_messages: bool = False
    # Staff sign-in: the cookie is Secure outside development (behind HTTPS).
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    # Sign-in throttling (web/throttle.py): failures allowed per account and per client
    # address within the window, before sign-in from there is refused until it passes.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_throttle_minutes: int = Field(default=15, ge=1)
    # Retention (storage/retention.py, run by the worker): message text and Rasa's record of
    # conversations older than this are deleted; closed requests are anonymised this long after
    # they closed, and kept only for counting.
    retention_days: int = Field(default=90, ge=1)
    closed_request_retention_days: int = Field(default=90, ge=1)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.whatsapp_token and self.whatsapp_phone_number_id)

    @property
    def telegram_secret(self) -> str:
        """The webhook secret token: set, or derived from SECRET_KEY (same in every process)."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret
        return hmac.new(self.secret_key.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()

    def box(self) -> AddressBox:
        """Encrypts and decrypts people's data with ENCRYPTION_KEYS (storage/crypto.py)."""
        return AddressBox.from_settings(self.encryption_keys, self.secret_key)

    @property
    def tracker_store_url(self) -> str:
        """Where Rasa keeps conversations (storage/tracker.py): TRACKER_STORE_URL, or on
        PostgreSQL a database of its own on the same server, otherwise a SQLite file next to
        Rasa's config. `sahay run` hands it to every process it starts."""
        if self.tracker_store:
            return self.tracker_store
        url = make_url(self.database_url)
        if url.get_backend_name() == "postgresql":
            tracker = url.set(database=f"{url.database}_tracker")
            return tracker.render_as_string(hide_password=False)
        return f"sqlite+aiosqlite:///{self.var_dir / 'rasa' / 'tracker.db'}"

    @property
    def secure_cookies(self) -> bool:
        return self.sahay_env == "production"

    @property
    def directory_path(self) -> Path:
        return self.directory_file or PROJECT_ROOT / "directory" / f"{self.deployment}.yml"

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.sahay_env == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError("SECRET_KEY must be set to 32 or more random characters")
            if not self.rasa_token:
                raise ValueError("RASA_TOKEN must be set in production")
            if not self.encryption_keys:
                raise ValueError("ENCRYPTION_KEYS must be set in production")
        if self.whatsapp_token and not (self.whatsapp_app_secret and self.whatsapp_verify_token):
            raise ValueError("WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN must be set too")
        return self
