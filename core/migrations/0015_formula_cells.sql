-- A workbook's cell that held a formula is read as the value the program that wrote the file saved beside it
-- (ingestion/readers.py; never evaluated). Which cells those were, and their formulas, are kept here, so that
-- `explain` can say a figure's row came from "=SUM(E5:E40)" rather than from a typed number.
create table raw.formula_cell (
    submission_id  bigint not null references ingest.submission,
    source_row     integer not null,
    column_name    text not null,
    formula        text not null,
    primary key (submission_id, source_row, column_name)
);
