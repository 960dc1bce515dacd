"""Reading the CSV files of ``cyprop train`` and ``cyprop predict``.

A file has a header row of column names and one sample per row.  Every
problem -- a missing file, a ragged row, a non-numeric cell -- raises
:class:`TableError` with a one-line message naming the file, the line and
the column, which the command line prints as is.
"""

import csv

import numpy as np

#: Integer-valued targets with at most this many distinct values are classes.
MAX_CLASSES = 20


class TableError(ValueError):
    """A CSV file that cannot be used, with a message fit for the command line."""


class Table:
    """The cells of a CSV file as text, by column.

    Attributes
    ----------
    path : str
    names : list of str
        Column names, from the header row.
    cells : dict of str -> list of str
        Each column's cells, stripped of surrounding spaces.
    n_rows : int
    line_numbers : list of int
        The file line each data row starts on (1-based; blank lines skipped
        and multi-line quoted cells counted), for error messages.
    """

    def __init__(self, path, names, rows, line_numbers=None):
        self.path = path
        self.names = names
        self.cells = {name: [row[i] for row in rows] for i, name in enumerate(names)}
        self.n_rows = len(rows)
        self.line_numbers = list(range(2, len(rows) + 2)) if line_numbers is None \
            else list(line_numbers)

    def require(self, name):
        """Raise TableError unless the file has a column ``name``."""
        if name not in self.cells:
            raise TableError(f"{self.path}: no column {name!r}; its columns are "
                             f"{', '.join(self.names)}")

    def numeric(self, name):
        """Column ``name`` as a float64 array; TableError naming the first bad cell."""
        self.require(name)
        values = np.empty(self.n_rows)
        for row, text in enumerate(self.cells[name]):
            try:
                values[row] = float(text)
            except ValueError:
                what = "is empty" if text == "" else f"holds {text!r}"
                raise TableError(f"{self.path}, line {self.line_numbers[row]}: column {name!r} "
                                 f"{what}, not a number") from None
            if not np.isfinite(values[row]):
                raise TableError(f"{self.path}, line {self.line_numbers[row]}: column {name!r} "
                                 f"holds {text!r}; values must be finite numbers")
        return values

    def matrix(self, names):
        """The columns ``names`` as a (n_rows, len(names)) float64 array."""
        return np.column_stack([self.numeric(name) for name in names]) if names else \
            np.empty((self.n_rows, 0))


def read_csv(path, delimiter=","):
    """Read ``path``; return a :class:`Table`.

    Raises
    ------
    TableError
        If the file cannot be opened or decoded, is empty, has no data rows,
        has blank or repeated column names, or a row whose number of cells
        differs from the header's.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            lines, first = [], 1
            for row in reader:  # (the line each record starts on, its cells)
                lines.append((first, row))
                first = reader.line_num + 1
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TableError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise TableError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"{path}: not a readable UTF-8 CSV file ({exc})") from None
    numbered = [(number, [cell.strip() for cell in row]) for number, row in lines
                if any(cell.strip() for cell in row)]
    if not numbered:
        raise TableError(f"{path}: the file is empty; it needs a header row and data rows")
    _, names = numbered[0]
    for i, name in enumerate(names):
        if not name:
            raise TableError(f"{path}: column {i + 1} of the header row has no name")
        if name in names[:i]:
            raise TableError(f"{path}: the header names column {name!r} twice")
    rows, line_numbers = [], []
    for number, row in numbered[1:]:
        if len(row) != len(names):
            raise TableError(f"{path}, line {number}: {len(row)} cells, but the header has "
                             f"{len(names)} columns")
        rows.append(row)
        line_numbers.append(number)
    if not rows:
        raise TableError(f"{path}: no data rows below the header")
    return Table(path, names, rows, line_numbers)


def is_categorical(table, name):
    """Whether column ``name`` looks like class labels rather than a quantity.

    True for non-numeric text, and for integer values with few distinct
    values: at most :data:`MAX_CLASSES`, and at most half the rows (so each
    class has two samples on average).
    """
    try:
        values = table.numeric(name)
    except TableError:
        return True
    if not np.all(values == np.round(values)):
        return False
    distinct = np.unique(values).size
    return distinct <= MAX_CLASSES and distinct <= max(2, table.n_rows // 2)


def class_labels(table, name):
    """Column ``name`` as class names (text): integers print without a decimal point.

    Returns
    -------
    labels : ndarray of str, shape (n_rows,)
    """
    cells = table.cells[name]
    try:
        values = table.numeric(name)
    except TableError:
        for row, text in enumerate(cells):
            if text == "":
                raise TableError(f"{table.path}, line {table.line_numbers[row]}: column {name!r} "
                                 "is empty") from None
        return np.array(cells, dtype=str)
    if np.all(values == np.round(values)):
        return np.array([str(int(v)) for v in values], dtype=str)
    return np.array([repr(float(v)) for v in values], dtype=str)
