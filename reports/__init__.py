"""The periodic report the ministry sends, written from the published figures only: a DOCX in the state's
administrative layout (reports/template/), its sentences from reports/text/, charts, an annex workbook keying
every figure it cites to its mart row, and a PDF of it (LibreOffice)."""

NATIONAL = "national"  # the folder of the national reports under the data folder's reports/ (a province's: its code)
