"""One typed settings object, read from the environment and validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    rasa_timeout_seconds: float = Field(default=30.0, gt=0)
    action_server_url: str = "http://127.0.0.1:5055"
    default_language: str = "en"
    deployment: str = "maldives"
    directory_file: Path | None = None
    log_level: str = "INFO"
    worker_poll_seconds: float = Field(default=2.0, gt=0)
    var_dir: Path = PROJECT_ROOT / "var"
    model_dir: Path = PROJECT_ROOT / "var" / "models"

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
        return self
