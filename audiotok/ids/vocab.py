"""Id arithmetic of the audio range inside an LLM vocabulary: codes, special and scale tokens.

The audio range starts at ``offset`` (the config's ``vocab_offset``) and is laid out as::

    offset + k * codebook_size + code      code ``code`` of codebook ``k``   (k < num_codebooks)
    offset + K * codebook_size + 0          <|audio_start|>
    offset + K * codebook_size + 1          <|audio_end|>
    offset + K * codebook_size + 2          <|audio_pad|>
    offset + K * codebook_size + 3 + j      scale token j                     (j < num_scale_tokens)

so each codebook owns its own contiguous range, and the language model can tell a token's
level from its id alone. Every function here is vectorised over numpy arrays and torch tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arrays import is_tensor

IntArray = Any  # an integer numpy array or torch tensor; each function returns the type it was given

SPECIAL_TOKEN_NAMES: tuple[str, ...] = ("audio_start", "audio_end", "audio_pad")
NOT_A_CODE = -1  # codebook index returned for ids that are not codes


@dataclass(frozen=True)
class AudioVocab:
    """The audio id range: ``num_codebooks`` ranges of ``codebook_size`` codes, then the special tokens."""

    num_codebooks: int
    codebook_size: int
    offset: int = 0
    num_scale_tokens: int = 0

    def __post_init__(self) -> None:
        if self.num_codebooks < 1:
            raise ValueError(f"num_codebooks must be >= 1, got {self.num_codebooks}")
        if self.codebook_size < 2:
            raise ValueError(f"codebook_size must be >= 2, got {self.codebook_size}")
        if self.offset < 0:
            raise ValueError(f"offset (vocab_offset) must be >= 0, got {self.offset}")
        if self.num_scale_tokens < 0:
            raise ValueError(f"num_scale_tokens must be >= 0, got {self.num_scale_tokens}")

    @property
    def num_code_ids(self) -> int:
        return self.num_codebooks * self.codebook_size

    @property
    def code_end(self) -> int:
        """One past the last code id."""
        return self.offset + self.num_code_ids

    @property
    def start_id(self) -> int:
        return self.code_end

    @property
    def end_id(self) -> int:
        return self.code_end + 1

    @property
    def pad_id(self) -> int:
        return self.code_end + 2

    @property
    def special_ids(self) -> dict[str, int]:
        """Special token name -> id, in SPECIAL_TOKEN_NAMES order."""
        return {name: self.code_end + i for i, name in enumerate(SPECIAL_TOKEN_NAMES)}

    @property
    def scale_base(self) -> int:
        """Id of scale token 0."""
        return self.code_end + len(SPECIAL_TOKEN_NAMES)

    @property
    def size(self) -> int:
        """Number of ids the audio range takes (codes, specials and scale tokens)."""
        return self.num_code_ids + len(SPECIAL_TOKEN_NAMES) + self.num_scale_tokens

    @property
    def end(self) -> int:
        """One past the last id of the audio range."""
        return self.offset + self.size

    def codebook_range(self, codebook: int) -> range:
        """The ids of codebook ``codebook``."""
        if not 0 <= codebook < self.num_codebooks:
            raise ValueError(f"codebook must be in [0, {self.num_codebooks}), got {codebook}")
        start = self.offset + codebook * self.codebook_size
        return range(start, start + self.codebook_size)

    def codes_to_ids(self, codes: IntArray) -> IntArray:
        """Codes ``[..., K, T]`` (codebook axis second to last) -> ids of the same shape."""
        num_codebooks = codes.shape[-2]
        if num_codebooks > self.num_codebooks:
            raise ValueError(f"got {num_codebooks} codebooks, the vocabulary has {self.num_codebooks}")
        base: Any
        if is_tensor(codes):
            import torch

            base = torch.arange(num_codebooks, device=codes.device, dtype=torch.int64)
        else:
            base = np.arange(num_codebooks, dtype=np.int64)
        return codes + (self.offset + base * self.codebook_size)[:, None]

    def codebook_of(self, ids: IntArray) -> IntArray:
        """Codebook index of each id, NOT_A_CODE (-1) for ids that are not codes (text, specials, scales)."""
        is_code = (ids >= self.offset) & (ids < self.code_end)
        codebook = (ids - self.offset) // self.codebook_size
        if is_tensor(ids):
            import torch

            return torch.where(is_code, codebook, torch.full_like(codebook, NOT_A_CODE))
        return np.where(is_code, codebook, NOT_A_CODE)

    def code_of(self, ids: IntArray) -> IntArray:
        """Code value of each code id (meaningless where codebook_of is NOT_A_CODE)."""
        return (ids - self.offset) % self.codebook_size

    def describe(self, token_id: int) -> str:
        """A human-readable name of one id, for error messages."""
        token_id = int(token_id)
        if self.offset <= token_id < self.code_end:
            k, code = divmod(token_id - self.offset, self.codebook_size)
            return f"id {token_id} (codebook {k}, code {code})"
        for name, special in self.special_ids.items():
            if token_id == special:
                return f"id {token_id} (<|{name}|>)"
        if self.scale_base <= token_id < self.end:
            return f"id {token_id} (scale token {token_id - self.scale_base})"
        return f"id {token_id} (outside the audio range [{self.offset}, {self.end}))"

    def expected(self, codebook: int) -> str:
        """Describes the ids a position of ``codebook`` accepts, for error messages."""
        ids = self.codebook_range(codebook)
        return f"a codebook-{codebook} code (ids {ids.start}..{ids.stop - 1})"

    def token_strings(self, special_strings: Sequence[str]) -> list[str]:
        """The string of every id in the audio range, in id order (``special_strings`` in SPECIAL_TOKEN_NAMES order)."""
        if len(special_strings) != len(SPECIAL_TOKEN_NAMES):
            raise ValueError(f"expected {len(SPECIAL_TOKEN_NAMES)} special token strings, got {len(special_strings)}")
        codes = [self.code_token(k, c) for k in range(self.num_codebooks) for c in range(self.codebook_size)]
        scales = [self.scale_token(j) for j in range(self.num_scale_tokens)]
        return codes + list(special_strings) + scales

    def code_token(self, codebook: int, code: int) -> str:
        """The token string of one code, e.g. ``<|a3_1017|>``."""
        return f"<|a{codebook}_{code}|>"

    def scale_token(self, index: int) -> str:
        return f"<|scale_{index}|>"
