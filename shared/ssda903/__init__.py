"""The DfE's SSDA903 children-looked-after return, read as councils upload it: three CSV files.

- `shared.ssda903.tables`: the header, episodes and reviews tables by the DfE's column names: the
  columns the platform uses (and needs), the ones it never keeps, how a file is recognised.
- `shared.ssda903.reader`: `TableReader`, an incremental reader of one file (bytes in, `StagedRow`s
  out): UTF-8 or Windows-1252, the stdlib `csv` module, row numbers as Excel shows them;
  `NotA903Table` for a file refused up front.
- `shared.ssda903.upload`: `read_upload`, the `multipart/form-data` body of an import streamed
  through a `TableReader` per file into a sink, with its SHA-256; no file is ever held whole.

Pure: no I/O besides the chunks given and the sink awaited. docs/ssda903.md, "Reading the files".
"""
