"""The proxy model requests go through: the system's (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, which every HTTP
client here honours), else the one set in Settings for people whose system has none; this computer (127.0.0.1,
localhost) is never reached through one, so local servers and the app itself stay direct.
"""

from __future__ import annotations

import os
import sys

LOCAL = ("127.0.0.1", "localhost", "::1")
_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY")
# What the system said before the app changed anything: its proxy always wins over the setting.
_SYSTEM = {name: os.environ.get(name) or os.environ.get(name.lower()) for name in _VARIABLES}


def keep_local_direct() -> None:
    """Add this computer's names to `NO_PROXY`, keeping what the system lists there in either spelling, and write
    the one list under both (HTTP clients read one spelling or the other, whichever they look at first)."""
    listed: list[str] = []
    for name in ("NO_PROXY", "no_proxy"):
        listed += [entry.strip() for entry in os.environ.get(name, "").split(",") if entry.strip()]
    merged = ",".join(dict.fromkeys([*listed, *LOCAL]))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = merged


def system_proxy() -> str | None:
    """The proxy the system sets, if any."""
    return _SYSTEM["HTTPS_PROXY"] or _SYSTEM["HTTP_PROXY"]


def apply(setting: str | None) -> None:
    """Make `setting` the proxy of requests made from now on, unless the system sets one."""
    if system_proxy():
        return
    for name in _VARIABLES:
        for spelling in (name, name.lower()):
            if setting:
                os.environ[spelling] = setting
            else:
                os.environ.pop(spelling, None)
    litellm = sys.modules.get("litellm")
    if litellm is not None:
        # LiteLLM keeps its HTTP clients for an hour; the next request must build one with the new proxy.
        litellm.in_memory_llm_clients_cache.flush_cache()
