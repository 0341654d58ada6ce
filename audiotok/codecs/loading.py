"""Where a codec comes from and where it runs: checkpoints found fast offline, device checks.

Family-neutral: ``checkpoint_source`` says where a name's ``config.json`` and weights come from
(the registry then reads ``model_type`` and loads the family's model class from there). A name is
read as one of three things, and each failure says which:

* an existing directory: loaded from disk, never touching the network;
* a path that looks local (starts with ``./``, ``../``, ``/`` or ``~``, or holds a path separator) but
  does not exist: "no such directory", never a hub lookup;
* anything else is a hub id. Offline (``HF_HUB_OFFLINE=1``) it loads from the local cache only. Online,
  one request without retries first asks the hub for its ``config.json``: an unreachable hub falls back
  to the local cache at once (instead of minutes' worth of retries with back-off), and a hub id
  that does not exist is reported as such.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url, try_to_load_from_cache
from huggingface_hub.utils import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    RepositoryNotFoundError,
    validate_repo_id,
)

from ..errors import AudiotokError

PROBE_TIMEOUT_S = 10.0
_ACCELERATORS = ("cuda", "mps", "xpu")


class CodecLoadError(AudiotokError, OSError):
    """A codec checkpoint could not be loaded; the message says which case it is and what to do."""


def failed(name: str, reason: str) -> CodecLoadError:
    """The error for a checkpoint that could not be loaded, saying why."""
    return CodecLoadError(f"could not load the codec checkpoint {name!r}: {reason}")


def checkpoint_source(name_or_path: str) -> tuple[str, dict[str, Any]]:
    """Where to load a name from: ``(directory or hub id, from_pretrained keyword arguments)``.

    Raises:
        CodecLoadError: which case it is (see the module docstring) and what to do.
    """
    expanded = os.path.expanduser(name_or_path)
    if os.path.isdir(expanded):
        return expanded, {}
    if looks_local(name_or_path):
        if os.path.exists(expanded):
            raise failed(name_or_path, "it is a file; pass the checkpoint's directory (with config.json)")
        raise failed(name_or_path, "no such directory (a local path; check it, or pass a hub id)")
    return _load_hub(name_or_path)


def looks_local(name: str) -> bool:
    """Whether a name is meant as a path: ., .., ./x, ../x, /x, ~x, a Windows separator, or two or more "/"
    (a hub id has at most one)."""
    if name in (".", "..") or name.startswith(("./", "../", "/", "~")):
        return True
    other_separators = [sep for sep in (os.sep, os.altsep) if sep and sep != "/"]
    return any(sep in name for sep in other_separators) or name.count("/") > 1


def hub_is_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``), as huggingface_hub read it or as set now."""
    now = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").upper()
    return bool(constants.HF_HUB_OFFLINE) or now in {"1", "ON", "YES", "TRUE"}


def _load_hub(name: str) -> tuple[str, dict[str, Any]]:
    try:
        validate_repo_id(name)
    except HFValidationError as error:
        raise failed(name, f"neither an existing directory nor a valid hub id ({error})") from error
    cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    unreachable = "the hub is offline (HF_HUB_OFFLINE=1)" if hub_is_offline() else _probe(name)
    if unreachable is None:
        return name, {}
    if cached:
        return name, {"local_files_only": True}
    raise failed(
        name,
        f"hub id not in the local cache and {unreachable}. Download it on a connected machine "
        f"(`hf download {name} --local-dir DIR`), copy DIR here and pass DIR as the model; "
        "or try an untrained demo codec with model 'demo' (EnCodec), 'demo-dac' or 'demo-mimi' "
        "(its ids are real codes, its audio is not a faithful reconstruction).",
    )


def _probe(name: str) -> str | None:
    """One request for the hub id's config.json, no retries: None if reachable, else why it is not."""
    try:
        get_hf_file_metadata(hf_hub_url(name, "config.json"), timeout=PROBE_TIMEOUT_S)
    except GatedRepoError as error:
        raise failed(
            name, "a gated hub model: accept its terms on huggingface.co and log in (`hf auth login`)"
        ) from error
    except RepositoryNotFoundError as error:
        raise failed(
            name, "the hub has no model of that name; check it (a private model needs `hf auth login`)"
        ) from error
    except EntryNotFoundError as error:
        raise failed(name, "the hub model has no config.json: not a transformers checkpoint") from error
    except HfHubHTTPError:
        return None  # the hub answered (e.g. 5xx): let transformers load, with its own retries
    except Exception as error:  # connection refused, DNS, timeout: whatever the HTTP client raises
        return f"the hub is offline (no network: {type(error).__name__}: {error})"
    return None


# -- devices ---------------------------------------------------------------------------------------------
def available_devices() -> list[str]:
    """Devices this machine can run the codec on: cpu, then every visible cuda:N / xpu:N, then mps."""
    found = ["cpu"]
    for kind in ("cuda", "xpu"):
        backend = getattr(torch, kind, None)
        if backend is not None and backend.is_available():
            found += [f"{kind}:{index}" for index in range(backend.device_count())]
    if torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device`` (None: CUDA when present, else CPU); an unavailable one raises.

    Raises:
        AudiotokError: a malformed name, or a device this machine lacks; the message lists the available ones.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = available_devices()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise AudiotokError(
            f"{device!r} is not a device name ({error}); available here: {', '.join(available)}"
        ) from error
    if resolved.type == "cpu":
        return resolved
    if resolved.type not in _ACCELERATORS:
        raise AudiotokError(
            f"audiotok does not run on {resolved.type!r} devices; available here: {', '.join(available)}"
        )
    label = resolved.type if resolved.type == "mps" else f"{resolved.type}:{resolved.index or 0}"
    if label not in available:
        raise AudiotokError(
            f"device {str(device)!r} is not available ({_why_missing(resolved.type)}); "
            f"available here: {', '.join(available)}"
        )
    return resolved


def _why_missing(kind: str) -> str:
    if kind == "cuda" and not torch.cuda.is_available():
        return "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA GPU is visible"
    if kind == "cuda":
        return f"{torch.cuda.device_count()} CUDA device(s) visible"
    if kind == "mps":
        return "MPS needs an Apple-silicon Mac and a torch built with MPS"
    return f"no {kind} device is visible"
