"""Model specs of ``audiotok eval --model``: ``NAME[:key=value[:key=value...]]``.

``NAME`` is anything ``AudioTokenizer.from_pretrained`` loads (a hub id, a codec or saved tokenizer
directory, e.g. one with a BPE vocabulary, an audiotok config JSON, or a demo name such as ``demo-dac``);
the options change its config: ``codebooks=4`` (or ``num_codebooks``), ``bandwidth=6`` (EnCodec's and X-codec's kbps),
``layout=first_codebook``, ``bpe=DIR`` (apply the acoustic BPE saved in the tokenizer directory ``DIR``,
trained for these codebooks and layout; ``bpe=none`` drops a BPE tokenizer's own), and ``label=...`` (the
name in tables and plots). Options are read from the right, so a path may itself contain ``:`` as long as no
part after one contains ``=`` (a ``bpe=`` path cannot contain ``:``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import AudiotokError

_OPTIONS: dict[str, tuple[str, type]] = {
    "codebooks": ("num_codebooks", int),
    "num_codebooks": ("num_codebooks", int),
    "bandwidth": ("bandwidth", float),
    "layout": ("layout", str),
}


@dataclass(frozen=True)
class ModelSpec:
    """One tokenizer configuration to evaluate: what to load, the config changes, its label, and the BPE to
    apply (``bpe``: a tokenizer directory or config JSON, ``"none"`` for no BPE, ``""`` to keep the model's)."""

    name: str
    changes: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    text: str = ""
    bpe: str = ""

    def __post_init__(self) -> None:
        if not self.text:
            options = "".join(f":{key}={value}" for key, value in self.changes.items())
            options += f":bpe={self.bpe}" if self.bpe else ""
            object.__setattr__(self, "text", self.name + options)

    @property
    def title(self) -> str:
        """The label, or the spec as written."""
        return self.label or self.text


def parse_spec(text: str) -> ModelSpec:
    """``"facebook/encodec_24khz:codebooks=4:layout=delayed"`` -> ``ModelSpec``; a bad option is an AudiotokError."""
    parts = str(text).split(":")
    options: list[str] = []
    while len(parts) > 1 and "=" in parts[-1]:
        options.insert(0, parts.pop())
    name = ":".join(parts)
    if not name:
        raise AudiotokError(f"model spec {text!r} names no model; write NAME[:key=value...], e.g. demo-dac:codebooks=4")
    changes: dict[str, Any] = {}
    label = bpe = ""
    for option in options:
        key, _, value = option.partition("=")
        if key == "label":
            label = value
            continue
        if key == "bpe":
            if not value:
                raise AudiotokError(f"model spec {text!r}: bpe= needs a tokenizer directory with a BPE, or none")
            bpe = value
            continue
        if key not in _OPTIONS:
            raise AudiotokError(
                f"model spec {text!r}: unknown option {key!r}; use {', '.join([*sorted(_OPTIONS), 'bpe', 'label'])}"
            )
        field_name, kind = _OPTIONS[key]
        try:
            changes[field_name] = kind(value)
        except ValueError:
            raise AudiotokError(f"model spec {text!r}: {key}={value!r} is not a {kind.__name__}") from None
    return ModelSpec(name, changes, label, str(text), bpe)
