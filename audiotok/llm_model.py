"""Embedding rows for the audio ids: resize an LLM's input and output embeddings and initialise the new rows."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from .config import TokenizerConfig
from .errors import ConfigError

MODEL_CONFIG_KEY = "audiotok_vocab"  # attribute extend_model records in model.config (saved in config.json)
Init = Literal["mean", "normal"]


def extend_model(
    model: Any,
    config: TokenizerConfig,
    init: Init = "mean",
    *,
    pad_to_multiple_of: int | None = None,
    covariance_scale: float = 1e-9,
    generator: torch.Generator | None = None,
) -> Any:
    """Resizes a ``transformers`` model's input and output embeddings for ``config``'s audio ids.

    The embedding gets ``max(config.total_vocab_size, current rows)`` rows, rounded up to a multiple of
    ``pad_to_multiple_of``. Every row from ``config.vocab_offset`` on is (re)initialised: the new rows, and
    also rows the checkpoint already had past its tokenizer (Qwen2.5 has 151936 rows for 151665 tokens),
    which no token used before and which the audio ids now take. Rows below ``vocab_offset`` are kept.

    Initialisation (``init="mean"``, Hewitt 2021, https://nlp.stanford.edu/~johnhew/vocab-expansion.html, the
    rule of transformers' ``resize_token_embeddings(mean_resizing=True)``): with mean ``mu`` and covariance
    ``S`` of the base vocabulary's rows (ids ``0 .. config.base_vocab_size - 1``, padding rows excluded),
    each new row is drawn from ``N(mu, covariance_scale * S)``. At the default scale 1e-9 a new row is
    ``mu`` plus noise ~3e-5 of the rows' spread: the new tokens start with the logit of an "average"
    token, which keeps the model's next-token distribution almost unchanged (the KL divergence to the
    original model stays small), and the noise makes the rows differ. (In bfloat16 that noise is mostly below the
    resolution and the rows start nearly equal; training separates them, since each id gets its own gradient.)
    The input embedding and an untied output embedding each use their own rows' statistics; a bias of the
    output layer gets its old entries' mean. ``init="normal"`` draws ``N(0, initializer_range**2)``, the
    model's own initialisation (``mean_resizing=False``). The covariance costs about 2 N D^2 flops per
    matrix (N base rows, D dimensions): a 32000 x 4096 matrix took 25-35 s on a 2-core CPU (it runs
    where the model is, so a GPU model computes it there); ``covariance_scale=0`` skips it (every new row
    is exactly the mean).

    Tied embeddings stay tied. The placement is recorded as ``model.config.audiotok_vocab`` (saved in
    ``config.json``): calling ``extend_model`` again with the same config returns the model unchanged, so
    it never resets trained audio rows; a different config is a ConfigError.

    Args:
        model: a ``transformers.PreTrainedModel`` with token embeddings (e.g. ``LlamaForCausalLM``).
        config: the placed config ``extend_tokenizer`` returned.
        init: ``"mean"`` or ``"normal"``.
        pad_to_multiple_of: round the row count up to a multiple of this (64 suits GPU matmuls).
        covariance_scale: the factor on the covariance for ``init="mean"``; 0 gives exactly the mean.
        generator: a torch generator, for reproducible rows.

    Returns:
        ``model`` (resized in place).

    Raises:
        ConfigError: the model has fewer rows than the config's base vocabulary, ``init="mean"`` with
            ``base_vocab_size == 0``, or the model was extended for another config.
    """
    if init not in ("mean", "normal"):
        raise ValueError(f"init must be one of ['mean', 'normal'], got {init!r}")
    if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
        raise ValueError(f"pad_to_multiple_of must be >= 1, got {pad_to_multiple_of}")
    placement = {
        "base_vocab_size": config.base_vocab_size,
        "vocab_offset": config.vocab_offset,
        "audio_vocab_size": config.audio_vocab_size,
    }
    embedding = model.get_input_embeddings()
    old_rows = int(embedding.weight.shape[0])
    recorded = getattr(model.config, MODEL_CONFIG_KEY, None)
    if recorded is not None:
        if dict(recorded) == placement:
            if old_rows < config.total_vocab_size:
                raise ConfigError(
                    f"the model records an extension for {placement} but has only {old_rows} embedding rows "
                    f"(needs {config.total_vocab_size}); it was resized since: start from the base model"
                )
            return model
        raise ConfigError(
            f"the model was already extended for {dict(recorded)}, not for this config's {placement}; "
            "start from the base model to extend it for another audio vocabulary"
        )
    if config.base_vocab_size > old_rows:
        raise ConfigError(
            f"the model has {old_rows} embedding rows but the config's base vocabulary has "
            f"{config.base_vocab_size} ids: the config (or tokenizer) belongs to another model"
        )
    if init == "mean" and config.base_vocab_size == 0:
        raise ConfigError(
            "init='mean' draws the new rows from the base vocabulary's rows, but config.base_vocab_size is 0; "
            "use the config extend_tokenizer returned, or init='normal'"
        )

    new_rows = max(config.total_vocab_size, old_rows)
    if pad_to_multiple_of:
        new_rows = math.ceil(new_rows / pad_to_multiple_of) * pad_to_multiple_of
    if new_rows != old_rows:
        # mean_resizing=False: transformers would draw only the rows past old_rows, from every old row's
        # statistics (padding rows included); we set every row from vocab_offset on below.
        model.resize_token_embeddings(new_rows, mean_resizing=False)

    std = float(getattr(model.config.get_text_config(), "initializer_range", 0.02))
    embedding = model.get_input_embeddings()
    output = model.get_output_embeddings()
    with torch.no_grad():
        _init_rows(embedding.weight, config, init, covariance_scale, std, generator)
        if output is not None and output.weight is not embedding.weight:
            _init_rows(output.weight, config, init, covariance_scale, std, generator)
        bias = getattr(output, "bias", None) if output is not None else None
        if isinstance(bias, torch.Tensor) and bias.shape[0] == new_rows:
            fill = bias[: config.base_vocab_size].float().mean() if init == "mean" else 0.0
            bias[config.vocab_offset :] = fill
    setattr(model.config, MODEL_CONFIG_KEY, placement)
    return model


def _init_rows(
    weight: torch.Tensor,
    config: TokenizerConfig,
    init: Init,
    covariance_scale: float,
    std: float,
    generator: torch.Generator | None,
) -> None:
    """Sets rows ``vocab_offset ..`` of ``weight`` ``[V, D]`` (see extend_model)."""
    count, dim = weight.shape[0] - config.vocab_offset, weight.shape[1]
    if count <= 0:
        return
    if init == "normal":
        noise = torch.randn(count, dim, generator=generator, dtype=torch.float32)
        weight[config.vocab_offset :] = (noise * std).to(weight.device, weight.dtype)
        return
    base = weight[: config.base_vocab_size]
    mean = _mean(base)
    if covariance_scale == 0:
        weight[config.vocab_offset :] = mean.to(weight.dtype)
        return
    factor = _covariance_factor(base, mean)
    noise = torch.randn(count, dim, generator=generator, dtype=torch.float32).to(weight.device)
    weight[config.vocab_offset :] = (mean + math.sqrt(covariance_scale) * (noise @ factor.T)).to(weight.dtype)


_BLOCK = 8192  # rows per float32 block; sums accumulate in float64 without a float64 copy of the matrix


def _mean(rows: torch.Tensor) -> torch.Tensor:
    """Mean ``[D]`` (float32) of ``rows`` ``[N, D]``."""
    total = torch.zeros(rows.shape[1], dtype=torch.float64, device=rows.device)
    for start in range(0, rows.shape[0], _BLOCK):
        total += rows[start : start + _BLOCK].float().sum(0, dtype=torch.float64)
    return (total / rows.shape[0]).float()


def _covariance_factor(rows: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``L`` ``[D, D]`` (float32) with ``L @ L.T`` = the covariance of ``rows`` ``[N, D]`` around ``mean``.

    Cholesky, or, for a (numerically) singular covariance, e.g. fewer rows than dimensions, the
    eigen-decomposition with negative rounding-error eigenvalues set to 0.
    Costs about 2 N D^2 flops: 25-35 s for 32000 x 4096 on a 2-core CPU.
    """
    covariance = torch.zeros(rows.shape[1], rows.shape[1], dtype=torch.float64, device=rows.device)
    for start in range(0, rows.shape[0], _BLOCK):
        centred = rows[start : start + _BLOCK].float() - mean
        covariance += (centred.T @ centred).double()
    covariance /= rows.shape[0]
    factor, info = torch.linalg.cholesky_ex(covariance)
    pivots = factor.diagonal() ** 2
    if int(info) != 0 or pivots.min() <= 1e-10 * pivots.max():  # singular: Cholesky's later columns are noise
        values, vectors = torch.linalg.eigh(covariance)
        factor = vectors * values.clamp(min=0).sqrt()
    return factor.float()
