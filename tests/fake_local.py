"""Fake local model servers, keyless, on 127.0.0.1: `FakeOllama` and `FakeLMStudio` (and `FakeGateway`, the same
OpenAI-compatible server on 127.0.0.2, which the app cannot tell from a remote one).

Each speaks its server's own discovery routes (Ollama: `GET /api/tags`, `POST /api/show`; LM Studio:
`GET /api/v0/models/{id}`) plus the OpenAI-compatible `GET /v1/models` and `POST /v1/chat/completions`, the last
through `tests.fake_provider`'s OpenAI wire, so replies stream (or not) exactly like `FakeProvider`'s and honour
the same markers (`[[status:NNN]]`, `[[slow]]`, `[[hang]]`, `[[drop]]`). A chat reply names the server and the
model that answered: `You said: [Ollama llama3.2:latest] hello. (I received 2 messages: system,user)` — the
echoed user text is prefixed with the tag `[<server> <model>]` (see `tag()`); what was recorded is the request as
sent, untouched.

`models` maps each model's name to the context length the server reports for it (None: the server says none);
change it at any time, it is read on every request. A chat for a model the server does not have is answered 404.

`start(port)` binds the given port, else the port of the last start, else a free one; `stop()` frees it, so a
test can stop a server and start it again at the same address. Requests are recorded like `FakeProvider`'s
(`requests`, `clear()`, `last_stream()`).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fake_provider import FakeProvider, RecordedRequest, TrackedServer
from tests.fake_provider.openai_wire import OPENAI_CHAT_PATHS, OpenAIWire, read_openai
from tests.fake_provider.wire import Disconnected

OLLAMA_MODELS: dict[str, int | None] = {"llama3.2:latest": 131072, "qwen2.5:7b": 32768}
"""What a fresh `FakeOllama` serves: model name → the context length `/api/show` reports."""
LM_STUDIO_MODELS: dict[str, int | None] = {"qwen2.5-7b-instruct": 32768, "llama-3.2-3b-instruct": 131072}
"""What a fresh `FakeLMStudio` serves: model id → its `max_context_length`."""


class _LocalHTTPServer(TrackedServer):
    """A server like `FakeProvider`'s (connections tracked so `stop()` can cut them) on a chosen port and handler."""

    def __init__(self, owner: FakeLocalServer, port: int) -> None:
        self.provider = owner
        super().__init__((owner.address, port), owner.handler)


class _LocalHandler(OpenAIWire):
    """Records each request, answers chat through the OpenAI wire, and leaves the rest to `_route`."""

    @property
    def local(self) -> FakeLocalServer:
        owner = self.provider
        assert isinstance(owner, FakeLocalServer)
        return owner

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path, query = split.path, dict(parse_qsl(split.query))
        body = self._read_body() if method == "POST" else {}
        is_chat = method == "POST" and path in OPENAI_CHAT_PATHS
        messages, parts = read_openai(body) if is_chat else ([], [])
        api_key = self._api_key(query)
        self.local._record(
            RecordedRequest(
                path=path,
                api_key=api_key,
                body=body,
                stream=bool(body.get("stream")) if is_chat else False,
                messages=messages,
                method=method,
                model=str(body["model"]) if "model" in body else None,
                query=query,
                headers={name.lower(): value for name, value in self.headers.items()},
                parts=parts,
            )
        )
        try:
            if is_chat:
                self._chat(api_key, body, messages)
            elif method == "GET" and path == "/v1/models":
                self._send_json(200, {"object": "list", "data": self.local.openai_models()})
            elif not self._route(method, path, body):
                self._send_json(404, {"error": f"no route for {method} {path}"})
        except Disconnected:
            self._cut()

    def _chat(self, api_key: str | None, body: dict[str, Any], messages: list[dict[str, str]]) -> None:
        model = self.local.find(str(body.get("model", "")))
        if model is None:
            self._send_json(
                404,
                {"error": {"message": f'model "{body.get("model")}" not found', "type": "api_error", "code": None}},
            )
            return
        tagged = [dict(message) for message in messages]
        for message in reversed(tagged):
            if message["role"] == "user":
                message["content"] = f"{self.local.tag(model)} {message['content']}"
                break
        self._openai_chat(api_key, body, tagged, bool(body.get("stream")))

    def _route(self, method: str, path: str, body: dict[str, Any]) -> bool:
        """Serve a server-specific route; False if there is none."""
        return False


class FakeLocalServer(FakeProvider):
    """What both fake local servers share: a chosen port, a model table, the OpenAI chat and model list."""

    name: ClassVar[str] = "Local"
    """The server's name, as the reply's tag says it."""
    handler: ClassVar[type[_LocalHandler]] = _LocalHandler
    default_models: ClassVar[dict[str, int | None]] = {}
    default_address: ClassVar[str] = "127.0.0.1"

    def __init__(
        self,
        *,
        port: int | None = None,
        models: dict[str, int | None] | None = None,
        address: str | None = None,
        chunk_delay: float = 0.0,
    ) -> None:
        """`port`: the port to bind (default: a free one); `models`: name → context length (default: the
        server's usual two); `address`: the loopback address to bind (default: the class's)."""
        super().__init__(chunk_delay=chunk_delay)
        self._port = port
        self.address = address or self.default_address
        self.models: dict[str, int | None] = dict(self.default_models if models is None else models)

    def start(self, port: int | None = None) -> Self:
        """Serve on `port`, else on the port of the last start (or the one given at creation), else a free one."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _LocalHTTPServer(self, port if port is not None else self._port or 0)
        self._port = int(self._server.server_address[1])
        self._thread = self._server.serve_in_thread(f"fake-{self.name.lower().replace(' ', '-')}")
        return self

    def __enter__(self) -> Self:
        return self.start()

    @property
    def running(self) -> bool:
        """Whether the server is serving now."""
        return self._server is not None

    @property
    def host(self) -> str:
        """`ADDRESS:PORT`, the form of Ollama's `OLLAMA_HOST`."""
        return f"{self.address}:{self.port}"

    @property
    def url(self) -> str:
        """The server's origin, `http://ADDRESS:PORT`."""
        return f"http://{self.host}"

    def find(self, name: str) -> str | None:
        """The model called `name` here, or None."""
        return name if name in self.models else None

    def tag(self, model: str) -> str:
        """The tag a reply from `model` carries: `[<server> <model>]`."""
        return f"[{self.name} {model}]"

    def openai_models(self) -> list[dict[str, Any]]:
        """The `data` of `GET /v1/models`."""
        return [{"id": name, "object": "model", "created": 1700000000, "owned_by": "library"} for name in self.models]

    def paths(self) -> list[str]:
        """`METHOD /path` of every request so far, in order."""
        with self._lock:
            return [f"{request.method} {request.path}" for request in self.requests]

    def chats(self) -> list[RecordedRequest]:
        """The chat completion requests so far."""
        with self._lock:
            return [request for request in self.requests if request.path in OPENAI_CHAT_PATHS]


class _OllamaHandler(_LocalHandler):
    def _route(self, method: str, path: str, body: dict[str, Any]) -> bool:
        local = self.local
        assert isinstance(local, FakeOllama)
        if method == "GET" and path == "/api/tags":
            self._send_json(200, {"models": [local.tags_entry(name) for name in local.models]})
        elif method == "POST" and path == "/api/show":
            name = local.find(str(body.get("model") or body.get("name") or ""))
            if name is None:
                self._send_json(404, {"error": f"model '{body.get('model') or body.get('name')}' not found"})
            else:
                self._send_json(200, local.show(name))
        elif method == "GET" and path == "/api/version":
            self._send_json(200, {"version": "0.12.0"})
        elif method == "GET" and path == "/":
            self._send_text("Ollama is running")
        else:
            return False
        return True

    def _send_text(self, text: str) -> None:
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeOllama(FakeLocalServer):
    """A fake Ollama: `GET /api/tags`, `POST /api/show` (`model_info["<family>.context_length"]`),
    `GET /api/version`, `GET /v1/models`, `POST /v1/chat/completions`. Names without a tag mean `:latest`."""

    name = "Ollama"
    handler = _OllamaHandler
    default_models = OLLAMA_MODELS

    def find(self, name: str) -> str | None:
        full = name if ":" in name else f"{name}:latest"
        return full if full in self.models else None

    @staticmethod
    def family(name: str) -> str:
        """The architecture a model's `model_info` keys start with: its name up to the first digit or dot."""
        base = name.split(":", 1)[0]
        letters = ""
        for char in base:
            if char.isdigit() or char in ".-":
                break
            letters += char
        return letters or "llama"

    def details(self, name: str) -> dict[str, Any]:
        family = self.family(name)
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        }

    def tags_entry(self, name: str) -> dict[str, Any]:
        """One model of `GET /api/tags`, shaped like Ollama's."""
        return {
            "name": name,
            "model": name,
            "modified_at": "2026-01-01T00:00:00.000000000Z",
            "size": 2019393189,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": self.details(name),
        }

    def show(self, name: str) -> dict[str, Any]:
        """The answer of `POST /api/show` for a model: its context length under `model_info`, if it has one."""
        family = self.family(name)
        info: dict[str, Any] = {"general.architecture": family, "general.parameter_count": 3212749888}
        length = self.models[name]
        if length is not None:
            info[f"{family}.context_length"] = length
        return {
            "license": "",
            "modelfile": f"FROM {name}\n",
            "parameters": "stop <|eot_id|>",
            "template": "{{ .Prompt }}",
            "details": self.details(name),
            "model_info": info,
            "capabilities": ["completion", "tools"],
            "modified_at": "2026-01-01T00:00:00.000000000Z",
        }


class _LMStudioHandler(_LocalHandler):
    def _route(self, method: str, path: str, body: dict[str, Any]) -> bool:
        local = self.local
        assert isinstance(local, FakeLMStudio)
        if method != "GET":
            return False
        if path == "/api/v0/models":
            self._send_json(200, {"object": "list", "data": [local.v0_entry(name) for name in local.models]})
            return True
        prefix = "/api/v0/models/"
        if not path.startswith(prefix):
            return False
        name = local.find(unquote(path[len(prefix) :]))
        if name is None:
            self._send_json(404, {"error": f"Model '{unquote(path[len(prefix) :])}' not found"})
        else:
            self._send_json(200, local.v0_entry(name))
        return True


class FakeLMStudio(FakeLocalServer):
    """A fake LM Studio: `GET /v1/models`, `GET /api/v0/models` and `/api/v0/models/{id}` (`max_context_length`,
    `state: "loaded"`), `POST /v1/chat/completions`."""

    name = "LM Studio"
    handler = _LMStudioHandler
    default_models = LM_STUDIO_MODELS

    def openai_models(self) -> list[dict[str, Any]]:
        return [{"id": name, "object": "model", "owned_by": "organization_owner"} for name in self.models]

    def v0_entry(self, name: str) -> dict[str, Any]:
        """A model as LM Studio's REST API (`/api/v0/models/{id}`) describes it."""
        entry: dict[str, Any] = {
            "id": name,
            "object": "model",
            "type": "llm",
            "publisher": "lmstudio-community",
            "arch": "qwen2",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "loaded",
        }
        length = self.models[name]
        if length is not None:
            entry["max_context_length"] = length
        return entry


class FakeGateway(FakeLocalServer):
    """An OpenAI-compatible endpoint at an address that does not look local (`127.0.0.2`, still this computer):
    a company gateway or a hosted provider as far as the app can tell, so keys are sent to it and a plain-http
    URL is warned about. `GET /v1/models`, `POST /v1/chat/completions`; it records the key like the others."""

    name = "Gateway"
    default_models = {"gpt-4o-mini": None, "gpt-4.1-mini": None}
    default_address = "127.0.0.2"
