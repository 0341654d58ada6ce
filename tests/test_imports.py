"""``import audiotok`` and the ids layer stay light: no torch, transformers, datasets or pyarrow until used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "datasets", "pyarrow", "librosa")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_importing_the_package_and_the_ids_layer_loads_nothing_heavy() -> None:
    assert _loaded_after("import audiotok, audiotok.ids, audiotok.config") == []


def test_ids_to_codes_works_without_torch() -> None:
    statement = (
        "from audiotok.config import TokenizerConfig\n"
        "config = TokenizerConfig(num_codebooks=2)\n"
        "ids = config.id_format.codes_to_ids([[1, 2], [3, 4]])\n"
        "assert [c.codes.tolist() for c in config.id_format.ids_to_codes(ids)] == [[[1, 2], [3, 4]]]"
    )
    assert _loaded_after(statement) == []


def test_a_name_loads_its_module_on_first_use() -> None:
    assert "torch" in _loaded_after("import audiotok\naudiotok.AudioTokenizer")
