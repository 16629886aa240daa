"""What a route may ask for, taken from the app's state: the store, attachments, settings, keys, the loader,
this launch, the local servers and the providers' model lists.

Routes declare them as parameters (`store: StoreDep`), so what each route touches shows in its signature.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .attachments import AttachmentFiles
from .config import AppConfig
from .keys import SecretStore
from .loader import BackgroundLoader
from .local_servers import LocalServers
from .model_lists import ModelLists
from .settings import SettingsFile
from .store import JsonFileStore

# Starlette's `app.state` holds anything (its attributes are Any): each getter names the type `app.py` put there.


def _store(request: Request) -> JsonFileStore:
    store: JsonFileStore = request.app.state.store
    return store


def _settings(request: Request) -> SettingsFile:
    settings: SettingsFile = request.app.state.settings
    return settings


def _keys(request: Request) -> SecretStore:
    keys: SecretStore = request.app.state.keys
    return keys


def _loader(request: Request) -> BackgroundLoader:
    loader: BackgroundLoader = request.app.state.loader
    return loader


def _attachments(request: Request) -> AttachmentFiles:
    attachments: AttachmentFiles = request.app.state.attachments
    return attachments


def _config(request: Request) -> AppConfig:
    config: AppConfig = request.app.state.config
    return config


def _local(request: Request) -> LocalServers:
    local: LocalServers = request.app.state.local
    return local


def _lists(request: Request) -> ModelLists:
    lists: ModelLists = request.app.state.model_lists
    return lists


StoreDep = Annotated[JsonFileStore, Depends(_store)]
SettingsDep = Annotated[SettingsFile, Depends(_settings)]
KeysDep = Annotated[SecretStore, Depends(_keys)]
LoaderDep = Annotated[BackgroundLoader, Depends(_loader)]
ConfigDep = Annotated[AppConfig, Depends(_config)]
AttachmentsDep = Annotated[AttachmentFiles, Depends(_attachments)]
LocalDep = Annotated[LocalServers, Depends(_local)]
ListsDep = Annotated[ModelLists, Depends(_lists)]
