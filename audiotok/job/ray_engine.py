"""The Ray Data engine: decoding as CPU tasks, encoding in a pool of actors that each hold the codec.

The blocks left become the rows of a Ray dataset, one per Ray block, so they are handed out
dynamically: a free worker takes the next block, a slow one holds nobody up. Each block is decoded and
resampled by a CPU task (``ds.map``), then encoded and written by one actor of a pool
(``ds.map_batches`` with a callable class and ``concurrency``): each actor loads the codec once, on its
GPU (``num_gpus=1``) or on the CPU with ``threads`` torch threads, encodes the block's clips in
length-bucketed batches and writes the shard itself, atomically (``process_block``). Ray Data's
streaming executor keeps a bounded number of decoded blocks in flight (backpressure on the object
store), and each actor takes at most two blocks at a time.

Faults: an actor that dies is restarted and its blocks retried by Ray Data; a retried block whose shard
was written before its actor died is read back, not rewritten. A killed driver leaves whole shards
only; rerunning the command resumes. Ray is imported only here, and only when the engine is chosen.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import time
from dataclasses import asdict, fields
from typing import Any

import numpy as np

from ..errors import AudiotokError, MissingDependencyError
from ..plan import keep_freed_memory, plan_for
from ..tokenizer import AudioTokenizer
from .manifest import write_manifest
from .options import Options
from .output import Output
from .progress import ProgressCallback
from .run import pending, prepare
from .unit import BlockResult, JobSpec, decode_block, process_block

RESULT_FIELDS = [f.name for f in fields(BlockResult)]


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(f"--engine ray needs Ray Data: pip install 'audiotok[ray]' ({error})") from error
    return ray


def run_ray(options: Options, report: ProgressCallback) -> dict[str, Any]:
    """Does every block left on a Ray cluster (a local one unless ``options.ray_address``); returns the manifest."""
    ray = import_ray()
    prepared = prepare(options, "cpu")  # the driver only writes the config: the actors load the codec where they run
    todo = pending(prepared)
    started_here = False
    try:
        if todo:
            started_here = connect(ray, options.ray_address)
        idle: dict[str, Any] = {"actors": 0, "device": "cpu", "threads": 0, "decoders": 0}
        layout = actor_layout(ray, options) if todo else idle
        batch_seconds = options.batch_seconds or plan_for(str(layout["device"])).batch_seconds
        plan = (
            f"{layout['actors']} encoding actor(s) on {layout['device']} x {layout['threads']} thread(s), "
            f"batches of <= {batch_seconds:g} s, decoding in Ray tasks"
        )
        state = prepared.start_state(todo, todo, name="ray", plan=plan)
        report(state)
        state.event = "shard"
        started = time.perf_counter()
        if todo:
            for result in _results(ray, _anywhere(prepared.spec), todo, layout, batch_seconds):
                state.add(result, time.perf_counter() - started)
                report(state)
    finally:
        if started_here:
            ray.shutdown()
    manifest = write_manifest(prepared.output, prepared.spec.blocks, state.this_run())
    state.event = "end"
    report(state)
    return manifest


def _anywhere(spec: JobSpec) -> JobSpec:
    """The spec with local paths made absolute: Ray workers do not run in the driver's working directory."""
    options = spec.options
    assert isinstance(options.source, str)  # streamed sources (tar lists) never reach the Ray engine
    tag = "audiofolder:" if options.source.startswith("audiofolder:") else ""
    folder = options.source[len(tag) :]
    source = tag + os.path.abspath(folder) if os.path.exists(folder) else options.source
    out = options.out if "://" in options.out else os.path.abspath(options.out)
    return dataclasses.replace(spec, options=dataclasses.replace(options, source=source, out=out))


def connect(ray: Any, address: str | None) -> bool:
    """Joins the cluster at ``address`` (or ``RAY_ADDRESS``), else starts a local one; True if this call started Ray."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, ValueError, RuntimeError) as error:
        raise AudiotokError(f"cannot join the Ray cluster at {address}: {error}") from error
    return True


def actor_layout(ray: Any, options: Options) -> dict[str, Any]:
    """How many encoding actors, on which device, with how many threads (from the cluster's resources)."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    device = options.device or ("cuda" if gpus else "cpu")
    if device.startswith("cuda"):
        if not gpus:
            raise AudiotokError(f"--device {device}: the Ray cluster has no GPU")
        return {"actors": options.encoders or gpus, "device": "cuda", "threads": options.threads or 1,
                "decoders": options.num_workers}  # fmt: skip
    threads = options.threads or 1
    return {"actors": options.encoders or max(1, cpus // threads), "device": "cpu", "threads": threads,
            "decoders": options.num_workers or max(1, cpus // threads)}  # fmt: skip


def _results(ray: Any, spec: JobSpec, todo: list[int], layout: dict[str, Any], batch_seconds: float) -> Any:
    """Runs the pipeline; yields each block's ``BlockResult`` as it finishes (in any order)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    on_gpu = layout["device"] == "cuda"
    blocks = ray.data.from_items([{"block": b} for b in todo], override_num_blocks=len(todo))
    # decoding reserves a CPU on GPU jobs; on CPU jobs the actors hold the CPUs and decoding is capped in number
    decoded = blocks.map(
        _Decode(spec),
        num_cpus=1 if on_gpu else 0,
        concurrency=layout["decoders"],
    )
    encoded = decoded.map_batches(
        _EncodeBlocks,
        fn_constructor_args=(spec, layout["device"], layout["threads"], batch_seconds),
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=layout["actors"], max_tasks_in_flight_per_actor=2),
        num_gpus=1 if on_gpu else 0,
        num_cpus=layout["threads"],
    )
    try:
        for row in encoded.iter_rows():
            yield BlockResult(**{name: _plain(row[name]) for name in RESULT_FIELDS})
    except Exception as error:  # a worker's AudiotokError (e.g. a full disk) reaches here wrapped by Ray
        cause = _audiotok_cause(error)
        if cause is not None:
            raise AudiotokError(str(cause)) from error
        raise


class _Decode:
    """A Ray task body: block id -> its decoded clips, pickled (numpy waves of any length)."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        block = int(row["block"])
        return {"block": block, "clips": pickle.dumps(decode_block(self.spec, block), protocol=5)}


class _EncodeBlocks:
    """An encoding actor: holds the codec on its device; encodes and writes each block it is handed."""

    def __init__(self, spec: JobSpec, device: str, threads: int, batch_seconds: float) -> None:
        import torch

        if device == "cpu":
            keep_freed_memory()
        torch.set_num_threads(threads)
        options = spec.options
        self.spec, self.batch_seconds = spec, batch_seconds
        self.tokenizer = AudioTokenizer.from_pretrained(options.model, device=device, **options.tokenizer_changes())
        self.output = Output(options.out)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        results = [
            process_block(
                self.spec,
                int(block),
                self.tokenizer,
                self.batch_seconds,
                decoded=pickle.loads(clips),
                output=self.output,
            )  # fmt: skip
            for block, clips in zip(batch["block"], batch["clips"])
        ]
        return {name: [asdict(r)[name] for r in results] for name in RESULT_FIELDS}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _audiotok_cause(error: BaseException) -> BaseException | None:
    """The ``AudiotokError`` a worker raised, from the exceptions Ray wraps it in (or rebuilt from their text)."""
    queue, seen = [error], set()
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AudiotokError):
            return current
        queue += [e for e in (getattr(current, "cause", None), current.__cause__, current.__context__) if e]
    marker = "AudiotokError: "
    lines = [line for line in str(error).splitlines() if marker in line]
    return AudiotokError(lines[0].split(marker, 1)[1].strip()) if lines else None
