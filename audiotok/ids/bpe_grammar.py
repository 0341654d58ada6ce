"""Constrained generation with acoustic BPE: which merged tokens may come next in an open span.

Strict decoding expands every merged token to its units and decodes the expansion (``IdFormat.span_codes``);
it does not ask where a BPE encoder would have cut its words. So a merged token is allowed exactly where
``SpanGrammar.advance`` accepts each id of its expansion in turn: the state it reaches is a grammar state,
and every grammar state can still be completed into a span strict decoding accepts.

The grammar looks only at the codebook of each unit (or that it is the pad), so merged tokens are grouped by
their *signature*, the codebooks of their expansion in order. A layout writes few signatures (a merged token
lies in one word of ``max_frames`` frames), and they form a trie: the merged tokens allowed after a state are
the signatures reached by walking the trie from it, one grammar step per trie node visited, whatever the
number of merged tokens. The result is a small hashable value (the signature groups), so a caller keeps one
mask per distinct value.
"""

from __future__ import annotations

import numpy as np

from ..errors import TokenizationError
from .bpe import AcousticBPE
from .grammar import SpanGrammar, SpanState

PAD_SYMBOL = -1  # the pad in a signature (codebooks are >= 0)
_CACHE_SIZE = 1 << 16  # states whose allowed groups are remembered


class _Node:
    __slots__ = ("children", "group")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.group: int | None = None  # the signature group that ends here


class BpeGrammar:
    """``SpanGrammar`` over BPE ids: base units as before, merged token ``j`` (id ``vocab.end + j``) as its units.

    Args:
        grammar: the span grammar of the layout ids (frame limits included).
        bpe: the acoustic BPE the ids use (``IdFormat.bpe``).
    """

    def __init__(self, grammar: SpanGrammar, bpe: AcousticBPE) -> None:
        self.grammar = grammar
        self.bpe = bpe
        vocab = grammar.vocab
        pad_unit = bpe.units.num_code_units
        self._expansions = [bpe.units.to_ids(np.asarray(unit), vocab).tolist() for unit in bpe.merged_units]
        groups: dict[tuple[int, ...], int] = {}
        token_group = np.empty(bpe.num_tokens, dtype=np.int64)
        for j, unit in enumerate(bpe.merged_units):
            signature = tuple(PAD_SYMBOL if u == pad_unit else u // vocab.codebook_size for u in unit)
            token_group[j] = groups.setdefault(signature, len(groups))
        order = np.argsort(token_group, kind="stable")
        bounds = np.searchsorted(token_group[order], np.arange(len(groups) + 1))
        #: the merged-token indices (0-based) of each signature group
        self.group_tokens = [order[bounds[g] : bounds[g + 1]] for g in range(len(groups))]
        self.signatures = list(groups)
        self._root = _Node()
        for signature, group in groups.items():
            node = self._root
            for symbol in signature:
                node = node.children.setdefault(symbol, _Node())
            node.group = group
        # one id per symbol: the grammar only reads its codebook
        self._representative = {k: vocab.offset + k * vocab.codebook_size for k in range(vocab.num_codebooks)}
        self._representative[PAD_SYMBOL] = vocab.pad_id
        self._accepted: dict[SpanState, frozenset[int]] = {}

    def is_merged(self, token_id: int) -> bool:
        end = self.grammar.vocab.end
        return end <= token_id < end + self.bpe.num_tokens

    def advance(self, state: SpanState, token_id: int) -> SpanState | None:
        """The state after ``token_id`` (a merged token: after each id of its expansion); None after the end.

        Raises:
            TokenizationError: ``token_id`` is not allowed here.
        """
        token_id = int(token_id)
        if not self.is_merged(token_id):
            return self.grammar.advance(state, token_id)
        expansion = self._expansions[token_id - self.grammar.vocab.end]
        for index, unit_id in enumerate(expansion):
            try:
                state = self.grammar.advance(state, unit_id)  # type: ignore[assignment]
            except TokenizationError as error:
                name = self.bpe.describe(token_id, self.grammar.vocab)
                raise TokenizationError(f"{error.detail} (unit {index} of {name})") from None
        return state

    def accepted(self, state: SpanState) -> frozenset[int]:
        """The signature groups whose merged tokens are allowed after ``state`` (see ``group_tokens``)."""
        cached = self._accepted.get(state)
        if cached is None:
            if len(self._accepted) >= _CACHE_SIZE:
                self._accepted.clear()
            cached = self._accepted[state] = self._walk(state)
        return cached

    def _walk(self, state: SpanState) -> frozenset[int]:
        grammar = self.grammar
        found: list[int] = []
        stack = [(state, self._root)]
        while stack:
            here, node = stack.pop()
            allowed = grammar.allowed(here)
            for symbol, child in node.children.items():
                if not (allowed.pad if symbol == PAD_SYMBOL else symbol in allowed.codebooks):
                    continue
                after = grammar.advance(here, self._representative[symbol])
                if child.group is not None:
                    found.append(child.group)
                if child.children:
                    stack.append((after, child))  # type: ignore[arg-type]  # a unit never closes the span
        return frozenset(found)
