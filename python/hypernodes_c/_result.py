"""Result: the outputs of a run or map, converted only when asked."""

from __future__ import annotations

_MATERIALIZE = {"auto": 0, "row": 1, "column": 2}


class Result:
    """Outputs as Arrow-layout record batches, plus error records and statistics.

    - ``to_pydict()``: ``{output: [values]}``; ``to_pylist(materialize)``: a list of
      row dicts built by a materialisation strategy (``auto``, ``row``, ``column``);
      ``to_numpy()``: ``{output: array}`` (zero copy for int64/float64/float32 columns
      without nulls held in one batch); ``to_pandas()``: a DataFrame.
    - The Arrow PyCapsule protocol (``__arrow_c_stream__``, ``__arrow_c_schema__``):
      ``pyarrow.table(result)``, ``polars.from_arrow(result)`` or DuckDB read the
      batches without a copy.
    - ``errors``: one dict per failed item (item, item_path, node, message) under
      ``error_policy="continue"``; ``stats``: counts of the call.
    """

    __slots__ = ("_r",)

    def __init__(self, r):
        self._r = r

    @property
    def column_names(self) -> list:
        return self._r.column_names()

    @property
    def types(self) -> dict:
        """Output name -> type string."""
        return self._r.types()

    @property
    def errors(self) -> list:
        return self._r.errors()

    @property
    def stats(self) -> dict:
        return self._r.stats()

    @property
    def num_chunks(self) -> int:
        return self._r.num_chunks()

    def __len__(self) -> int:
        return len(self._r)

    def __getitem__(self, name: str) -> list:
        return self.to_pydict()[name]

    def to_pydict(self) -> dict:
        return self._r.to_pydict()

    def to_pylist(self, materialize: str = "auto") -> list:
        if materialize not in _MATERIALIZE:
            raise ValueError("materialize must be 'auto', 'row' or 'column'")
        return self._r._to_pylist(_MATERIALIZE[materialize])

    def column(self, name: str):
        """One output as a numpy array."""
        return self._r.column_numpy(name)

    def to_numpy(self) -> dict:
        return {name: self._r.column_numpy(name) for name in self.column_names}

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame({name: self._r.column_numpy(name) for name in self.column_names})

    def __arrow_c_stream__(self, requested_schema=None):
        return self._r.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self):
        return self._r.__arrow_c_schema__()

    def __repr__(self) -> str:
        return f"Result({len(self)} rows, outputs={self.column_names})"
