"""The XLSX template a province fills in: instructions first, Vietnamese headers, drop-down lists, its units.
Vietnamese throughout: the catalogue's kinds and measures and the units' levels are shown in words."""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from ingestion.catalogue import load_catalogue
from ingestion.contract import MODEL_SHEET, load_contract, sheet_columns, sheet_title
from ingestion.models import model_types
from ingestion.periods import parse_period
from ingestion.reference import current_units, units_of_period

GUIDE = "Hướng dẫn"
CATALOGUE = "Danh mục chỉ tiêu"
UNITS = "Đơn vị"
MODEL_TYPES = "Loại mô hình"
ROWS_WITH_LISTS = 20_000
# The catalogue's and the reference's English codes, in the words an officer reads (the workbook is Vietnamese
# throughout). The contract's own values (a model's status) are typed as codes: the guide gives their words.
KINDS = {"stock": "Số liệu tại thời điểm cuối kỳ", "flow": "Số phát sinh trong kỳ"}
MEASURES = {"count": "Số lượng (ghi Giá trị)", "ratio": "Tỷ lệ (ghi Tử số và Mẫu số)"}
LEVELS = {
    "province": "Tỉnh/thành phố",
    "district": "Quận/huyện cũ, trước 01/7/2025",
    "commune": "Xã/phường/đặc khu",
    "village": "Thôn/tổ dân phố",
}
STATUSES = {"active": "đang hoạt động", "closed": "đã dừng hoạt động"}


def build_workbook(
    province_code: str | None = None, period_code: str | None = None, applied: tuple[str, ...] = ()
) -> openpyxl.Workbook:
    contract = load_contract()
    workbook = openpyxl.Workbook()
    guide = workbook.active  # first, and the sheet the workbook opens on
    guide.title = GUIDE
    statuses = ", ".join(f"{code} ({words})" for code, words in STATUSES.items())
    levels = ", ".join(f"{code} ({words.lower()})" for code, words in LEVELS.items())
    lines = [
        f"Mẫu báo cáo phong trào Toàn dân bảo vệ ANTQ — hợp đồng dữ liệu phiên bản {contract['version']}",
        "",
        f"1. Nhập số liệu vào trang '{sheet_title()}': mỗi dòng là một đơn vị × một chỉ tiêu × một phân loại.",
        "2. Kỳ báo cáo: 2026-09 (tháng), 2026-Q3 (quý), 2026-H2 (6 tháng), 2026 (năm).",
        "3. Đơn vị: ghi mã đơn vị hành chính (trang 'Đơn vị') hoặc tên đơn vị; trước 01/7/2025 dùng đơn vị cũ.",
        "4. Chỉ tiêu đếm: ghi 'Giá trị'. Chỉ tiêu tỷ lệ: ghi 'Tử số' (số đạt) và 'Mẫu số' (tổng số).",
        "5. Số nguyên, không dùng dấu phân cách hàng nghìn (4351, không ghi 4.351). Không dùng công thức.",
        "6. Chỉ tiêu có phân loại (trang 'Danh mục chỉ tiêu'): mỗi phân loại một dòng; không có thì bỏ trống.",
        "7. Gửi tệp qua cổng nộp báo cáo: đăng nhập, chọn kỳ báo cáo và tệp, bấm 'Kiểm tra' để xem ngay mọi lỗi"
        " và số liệu toàn tỉnh sẽ được công bố (chưa lưu gì), rồi bấm 'Gửi'. Gửi lại tệp mới sẽ thay thế cả bản"
        " trước của kỳ đó.",
        f"8. Trang '{sheet_title(MODEL_SHEET)}' (không bắt buộc): danh sách đầy đủ mô hình tự quản của tỉnh"
        " tại cuối kỳ; mô hình nhân rộng từ mô hình khác ghi mã mô hình gốc (của tỉnh khác: <mã tỉnh>/<mã mô hình>)."
        f" Cột 'Cấp' ghi mã: {levels}; cột 'Trạng thái': {statuses}.",
        "",
        "Nếu tệp bị từ chối, cổng và thư báo nêu rõ trang, dòng, cột và lý do để sửa.",
    ]
    for line in lines:
        guide.append([line])
    guide["A1"].font = Font(bold=True, size=13)
    guide.column_dimensions["A"].width = 110

    catalogue = workbook.create_sheet(CATALOGUE)
    catalogue.append(["Mã chỉ tiêu", "Tên chỉ tiêu", "Loại", "Đo lường", "Phân loại"])
    indicators = list(load_catalogue().values())
    for indicator in indicators:
        catalogue.append(
            [
                indicator.code,
                indicator.name_vi,
                KINDS.get(indicator.kind, indicator.kind),
                MEASURES.get(indicator.measure, indicator.measure),
                ", ".join(indicator.categories),
            ]
        )
    categories = sorted({c for i in indicators for c in i.categories})
    for row, category in enumerate(categories, start=2):
        catalogue.cell(row=row, column=7, value=category)
    catalogue.cell(row=1, column=7, value="Các phân loại")

    data = workbook.create_sheet(sheet_title(), 1)
    columns = sheet_columns()
    data.append([column.header_vi for column in columns])
    for cell in data[1]:
        cell.font = Font(bold=True)
    data.freeze_panes = "A2"
    lists = {
        "indicator_code": f"'{CATALOGUE}'!$A$2:$A${len(indicators) + 1}",
        "category": f"'{CATALOGUE}'!$G$2:$G${len(categories) + 1}",
    }
    if period_code:
        lists["period"] = f'"{parse_period(period_code).code}"'
    if province_code:
        units = units_of_period(parse_period(period_code), applied) if period_code else current_units(applied)
        own = [u for u in units if u.province_code == province_code and u.unit_level != "province"]
        sheet = workbook.create_sheet(UNITS)
        sheet.append(["Mã đơn vị", "Tên đơn vị", "Cấp"])
        for unit in own:
            sheet.append([unit.unit_code, unit.name, LEVELS.get(unit.unit_level, unit.unit_level)])
        lists["unit_code"] = f"'{UNITS}'!$A$2:$A${len(own) + 1}"
    _add_lists(data, columns, lists, optional={"category"})
    _as_text(data, columns, {"period", "unit_code", "indicator_code", "category"})

    types = workbook.create_sheet(MODEL_TYPES)
    types.append(["Mã loại", "Tên loại mô hình"])
    for code, name in model_types().items():
        types.append([code, name])
    models = workbook.create_sheet(sheet_title(MODEL_SHEET), 2)
    model_columns = sheet_columns(MODEL_SHEET)
    models.append([column.header_vi for column in model_columns])
    for cell in models[1]:
        cell.font = Font(bold=True)
    models.freeze_panes = "A2"
    model_lists = {c.name: f'"{",".join(c.values)}"' for c in model_columns if c.values}
    model_lists["model_type"] = f"'{MODEL_TYPES}'!$A$2:$A${len(model_types()) + 1}"
    if "unit_code" in lists:
        model_lists["host_unit_code"] = lists["unit_code"]
    _add_lists(models, model_columns, model_lists)
    _as_text(models, model_columns, {"model_code", "host_unit_code", "replicated_from"})
    return workbook


def _add_lists(sheet, columns, lists: dict[str, str], optional: set[str] = frozenset()) -> None:
    """Drop-down lists on the sheet's columns, for the rows officers fill in."""
    letter = {column.name: openpyxl.utils.get_column_letter(i) for i, column in enumerate(columns, start=1)}
    for name, source in lists.items():
        validation = DataValidation(type="list", formula1=source, allow_blank=name in optional)
        validation.error = "Giá trị không có trong danh sách"
        sheet.add_data_validation(validation)
        validation.add(f"{letter[name]}2:{letter[name]}{ROWS_WITH_LISTS}")


def _as_text(sheet, columns, names: set[str]) -> None:
    """Format columns as Text, so Excel keeps what is typed: 2026-09 stays a period (not a date), 00004 a code."""
    for i, column in enumerate(columns, start=1):
        if column.name in names:
            sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].number_format = "@"


def write_template(path: Path, province_code: str | None = None, period_code: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    build_workbook(province_code, period_code).save(path)
    return path


if __name__ == "__main__":
    province, period = (sys.argv[1:3] + [None, None])[:2]
    target = Path(".data") / "templates" / f"antq-{province or 'all'}-{period or 'any'}.xlsx"
    print(write_template(target, province, period))
