"""Every word the portal shows, in Vietnamese (the default) and English."""

from __future__ import annotations

LANGUAGES = ("vi", "en")

TEXT = {
    "title": ("Cổng nộp báo cáo phong trào Toàn dân bảo vệ ANTQ", "ANTQ movement reporting portal"),
    "login": ("Đăng nhập", "Log in"),
    "logout": ("Đăng xuất", "Log out"),
    "user": ("Tên đăng nhập", "Login"),
    "password": ("Mật khẩu", "Password"),
    "wrong_login": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong login or password."),
    "too_many": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {seconds} giây.",
        "Too many failed logins. Try again in {seconds} seconds.",
    ),
    "busy": (
        "Hệ thống đang bận vì có nhiều lượt đăng nhập cùng lúc. Vui lòng thử lại sau {seconds} giây.",
        "Too many logins at once. Try again in {seconds} seconds.",
    ),
    "bad_form": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và gửi lại.",
        "The form has expired or is not valid. Reload the page and send it again.",
    ),
    "province": ("Tỉnh/thành phố", "Province"),
    "period": ("Kỳ báo cáo", "Period"),
    "template": ("Tải tệp mẫu", "Download the template"),
    "template_help": (
        "Tệp Excel mẫu cho tỉnh và kỳ báo cáo, có danh sách đơn vị và chỉ tiêu.",
        "The Excel template for the province and period, with its units and indicators.",
    ),
    "upload": ("Kiểm tra hoặc gửi tệp", "Check or send a file"),
    "upload_help": (
        "Kiểm tra: xem ngay mọi lỗi, không lưu gì. Gửi: nộp chính thức, thay thế bản đã gửi trước của kỳ này.",
        "Check: see every problem at once, nothing is stored. Send: the official submission, replacing any"
        " earlier one for the period.",
    ),
    "file": ("Tệp (.xlsx, .csv, .json)", "File (.xlsx, .csv, .json)"),
    "check": ("Kiểm tra", "Check"),
    "submit": ("Gửi", "Send"),
    "submissions": ("Các lần gửi", "Submissions"),
    "received": ("Nhận lúc", "Received"),
    "version": ("Bản", "Version"),
    "status": ("Trạng thái", "Status"),
    "rows": ("Số dòng", "Rows"),
    "reasons": ("Lý do", "Reasons"),
    "none_yet": ("Chưa có.", "None yet."),
    "reminders": ("Báo cáo đến hạn", "Reports due"),
    "deadline": ("Hạn nộp", "Deadline"),
    "overdue": ("quá hạn", "overdue"),
    "report": ("Kết quả kiểm tra", "Check result"),
    "dry_ok": (
        "Tệp hợp lệ: sẽ được nhận là bản {version} ({rows} dòng). Chưa lưu gì; bấm Gửi để nộp.",
        "The file is valid: it would be accepted as version {version} ({rows} rows). Nothing was stored;"
        " press Send to submit it.",
    ),
    "dry_bad": (
        "Tệp có {count} lỗi, chưa lưu gì. Sửa các lỗi dưới đây rồi kiểm tra lại.",
        "The file has {count} problem(s); nothing was stored. Fix them and check again.",
    ),
    "sent_ok": ("Đã nhận tệp: bản {version}, {rows} dòng.", "File accepted: version {version}, {rows} rows."),
    "sent_bad": (
        "Tệp bị từ chối ({count} lỗi). Sửa các lỗi dưới đây rồi gửi lại.",
        "The file was refused ({count} problem(s)). Fix them and send it again.",
    ),
    "duplicate": ("Tệp này đã được nhận trước đó (lần gửi #{id}).", "This file was already received (#{id})."),
    "sheet": ("Trang", "Sheet"),
    "row": ("Dòng", "Row"),
    "column": ("Cột", "Column"),
    "value": ("Giá trị", "Value"),
    "reason": ("Lý do", "Reason"),
    "accepted": ("đã nhận, chờ công bố", "accepted, waiting to be published"),
    "published": ("đã công bố", "published"),
    "held": ("tạm giữ để xem xét", "held for review"),
    "refused_on_review": ("bị bác bỏ khi xem xét, không công bố", "rejected on review, not published"),
    "rejected": ("bị từ chối", "refused"),
    "superseded": ("đã được thay thế", "replaced by a later version"),
    "team": ("Nhóm dữ liệu", "Data team"),
    "completeness": ("Tình hình nộp báo cáo", "Completeness by province and period"),
    "refused_today": ("Tệp bị từ chối hôm nay", "Files refused today"),
    "holds": ("Số liệu tạm giữ chờ xem xét", "Holds to review"),
    "confirm": ("Xác nhận (công bố)", "Confirm (publish)"),
    "reject": ("Loại bỏ (báo tỉnh)", "Reject (tell the province)"),
    "why": ("Lý do xem xét", "Reason for the review"),
    "undelivered": ("Thư cảnh báo chưa gửi được", "Alerts not delivered"),
    "all_delivered": ("Mọi thư cảnh báo đã được gửi.", "Every alert was delivered."),
    "given_up": ("đã dừng thử", "given up"),
    "next_try": ("thử lại lúc", "next try"),
    "publish_log": ("Nhật ký công bố", "Publish log"),
    "hold_no": ("Tạm giữ #{id}", "Hold #{id}"),
    "submission_no": ("hồ sơ #{id}", "submission #{id}"),
    "hold_report": ("Báo cáo của lần kiểm tra đã tạm giữ", "Report of the run that held it"),
    "last_periods": (
        "Các kỳ gần nhất của tỉnh, số đang tạm giữ đánh dấu ▼",
        "The province's last periods, the held figure marked ▼",
    ),
    "due_provinces": ("Tỉnh chưa nộp báo cáo đã đến hạn", "Provinces with a report due or late"),
    "not_due": ("chưa đến hạn", "not due"),
    "due": ("đến hạn", "due"),
    "late": ("trễ hạn", "late"),
    "missing": ("thiếu", "missing"),
    "no_contact": (
        "Tỉnh chưa có người nhận thư (thư của tỉnh gửi nhóm dữ liệu để chuyển tiếp):",
        "Provinces with no contact for alerts (their alerts go to the data team to forward):",
    ),
    "recent_decisions": ("Quyết định gần đây", "Recent decisions"),
    "close_period": ("Đóng kỳ cho tỉnh không báo cáo", "Close a period for a province that will not report it"),
    "close_help": (
        "Số liệu toàn quốc của một kỳ chỉ là chính thức khi mọi tỉnh đã báo cáo hoặc được đóng kỳ, và không còn số"
        " liệu nào đang chờ xem xét. Đóng kỳ được lưu (ai, khi nào, lý do); tỉnh gửi sau vẫn được tính.",
        "A period's national figures are final only when every province reported or was closed and no hold is"
        " open. A closing is kept (who, when, why); a province that sends the period after all is counted.",
    ),
    "close": ("Đóng kỳ", "Close"),
    "reports": ("Báo cáo", "Reports"),
    "reports_help": (
        "Báo cáo định kỳ viết từ số liệu đã công bố (DOCX để chỉnh sửa và ký, PDF, phụ lục XLSX dẫn nguồn từng số"
        ' liệu). Số liệu chưa chính thức được ghi "tạm thời".',
        "The periodic report written from the published figures (DOCX to edit and sign, PDF, an XLSX annex citing"
        ' the source of every figure). Figures not yet final say "tạm thời" (provisional).',
    ),
    "report_write": ("Viết báo cáo", "Write the report"),
    "reports_written": ("Báo cáo đã viết", "Reports written"),
    "report_none": ("Chưa viết được báo cáo.", "No report was written."),
    "national": ("Toàn quốc", "National"),
    "closed_periods": ("Kỳ đã đóng", "Periods closed"),
    "hold_confirmed": ("Đã xác nhận", "Confirmed"),
    "hold_rejected": ("Đã loại bỏ", "Rejected"),
    "by": ("bởi", "by"),
    "published_in": ("đã công bố ở lần công bố #{id}", "published in publish #{id}"),
    "when": ("Thời gian", "When"),
    "action": ("Thao tác", "Action"),
    "submissions_counted": ("Số hồ sơ được tính", "Submissions counted"),
    "checks_passed": ("Số kiểm tra đạt", "Checks passed"),
    "run_report": ("Báo cáo kiểm tra của lần chạy", "The run's gate report"),
    "gate_reports": ("Báo cáo kiểm tra chất lượng", "Quality gate reports"),
    "kind": ("Loại", "Kind"),
    "count": ("Số thư", "Count"),
    "all_alerts": ("Xem từng thư chưa gửi được", "See each alert not delivered"),
    "recipients": ("Người nhận", "Recipients"),
    "subject": ("Tiêu đề", "Subject"),
    "attempts": ("Số lần thử", "Attempts"),
    "last_error": ("Lỗi gần nhất", "Last error"),
    "forbidden": ("Không có quyền truy cập.", "Not allowed."),
    "not_found": ("Không tìm thấy.", "Not found."),
    "too_large": ("Tệp lớn hơn giới hạn {mb} MB.", "The file is larger than the {mb} MB limit."),
    "bad_name": (
        "Tên tệp không hợp lệ: dài quá {chars} ký tự hoặc có ký tự điều khiển. Hãy đổi tên tệp rồi gửi lại.",
        "The file name is not valid: longer than {chars} characters or with a control character. Rename the"
        " file and send it again.",
    ),
    "no_file": ("Chưa chọn tệp.", "No file was chosen."),
    "back": ("Quay lại", "Back"),
    "form": ("Nhập số liệu trên cổng", "Type the figures in"),
    "form_link": (
        "Không có tệp? Nhập số liệu trực tiếp trên cổng, theo danh mục chỉ tiêu của kỳ báo cáo.",
        "No file? Type the figures into the portal, from the period's list of indicators.",
    ),
    "open": ("Mở", "Open"),
    "province_totals": ("Số liệu toàn tỉnh", "The province's totals"),
    "form_page": ("Nhập", "Enter"),
    "by_commune": ("Theo xã, phường", "By commune"),
    "unit": ("Đơn vị", "Unit"),
    "grid_help": (
        "Dòng đầu là số của toàn tỉnh, sau đó {communes} xã, phường, đặc khu của kỳ này; bỏ trống ô không có số"
        " liệu. Số của tỉnh không được nhỏ hơn tổng các xã. Gửi: bản mới gồm số của trang này và mọi số khác của"
        " bản đã gửi trước (các chỉ tiêu khác, trang mô hình) giữ nguyên.",
        "The first row is the province's own figure, then its {communes} communes of this period; leave empty what"
        " you have no figure for. The province's figure may not be less than its communes' sum. Send: the new"
        " version has this page's figures, and every other figure of the version sent before (other indicators,"
        " the models sheet) as it was.",
    ),
    "form_stale": (
        "Biểu mẫu này mở từ một bản không còn là bản mới nhất của kỳ: đã có bản gửi sau đó (từ cổng hoặc bằng"
        " tệp). Hãy mở lại biểu mẫu để sửa từ bản mới nhất; chưa lưu gì.",
        "This form was opened from a version that is no longer the period's latest: another was sent since (from"
        " the portal or as a file). Open the form again to edit from the latest; nothing was stored.",
    ),
    "form_help": (
        "Mỗi ô một số nguyên, viết liền (4351, không viết 4.351); bỏ trống ô không có số liệu. Kiểm tra: xem ngay"
        " mọi lỗi, không lưu gì. Gửi: nộp chính thức như một tệp, thay thế bản đã gửi trước của kỳ này.",
        "One whole number a field, without separators (4351, not 4.351); leave empty what you have no figure"
        " for. Check: see every problem at once, nothing is stored. Send: the official submission, as a file"
        " is, replacing any earlier one for the period.",
    ),
    "form_prefilled": (
        "Đã điền sẵn số liệu của bản {version} đã gửi. Sửa số cần sửa rồi bấm Gửi: bản mới thay thế bản trước, với"
        " số trên trang này như đã sửa và mọi số khác của bản trước giữ nguyên.",
        "Filled in with the figures of version {version}, as sent. Change what needs changing and press Send:"
        " the new version replaces the earlier one, with this page's figures as changed and every other figure"
        " of the earlier one as it was.",
    ),
    "edit_again": ("Sửa tiếp số liệu vừa nhập", "Go on editing these figures"),
    "numerator": ("Tử số", "Numerator"),
    "denominator": ("Mẫu số", "Denominator"),
    "sent": ("Đã gửi", "Sent"),
    "period_from_file": (
        "Tệp ghi kỳ báo cáo {file}, bạn đã chọn kỳ {picked}: tệp được xử lý cho kỳ {file}, kỳ ghi trong tệp.",
        "The file is for {file}, you chose {picked}: it was taken for {file}, the period the file states.",
    ),
    "publish_next": (
        "Số liệu sẽ được công bố ở lần công bố tiếp theo, sau khi kiểm tra toàn quốc (thường trong vài phút)."
        " Nếu số liệu bất thường, bản này được tạm giữ để Cục xem xét và tỉnh nhận thư báo; trong khi đó số liệu"
        " đã công bố trước vẫn giữ nguyên.",
        "The figures are published by the next publish run, after the national checks (usually within minutes)."
        " If they look unusual, this version is held for the ministry's review and the province is emailed;"
        " meanwhile what was published before stays.",
    ),
    "publish_held": (
        "Bản này đang được tạm giữ để Cục xem xét; số liệu đã công bố trước vẫn giữ nguyên cho đến khi có kết luận.",
        "This version is held for the ministry's review; what was published before stays until it is decided.",
    ),
    "publish_done": ("Số liệu của bản này đã được công bố.", "This version's figures are published."),
    "publish_replaced": ("Bản này đã được thay thế bằng bản gửi sau.", "A later version replaced this one."),
    "figures_sent": ("Số liệu toàn tỉnh đã nhận", "The province's figures received"),
    "figures_would": (
        "Số liệu toàn tỉnh sẽ được công bố nếu gửi tệp này",
        "The province's figures this file would publish",
    ),
    "figures_help": (
        "Tổng của các dòng trong tệp theo từng chỉ tiêu; đơn vị đã có số liệu riêng thì không cộng thêm các đơn vị"
        " cấp dưới. So sánh với kỳ cùng loại đã công bố gần nhất.",
        "The file's rows summed per indicator; a unit with its own figure is not added to again by the units"
        " below it. Compared with the latest published period of the same kind.",
    ),
    "indicator": ("Chỉ tiêu", "Indicator"),
    "figure": ("Số liệu", "Figure"),
    "see_submission": ("Xem lần gửi #{id}", "See submission #{id}"),
    "published_figure": ("Đã công bố", "Published"),
    "change": ("Thay đổi", "Change"),
    "points": ("điểm %", "points"),
    "cat_total": ("Tổng số", "Total"),
    "cat_kdc": ("Khu dân cư", "Residential areas"),
    "cat_commune": ("Cấp xã", "Commune level"),
    "cat_agency": ("Cơ quan", "Agencies"),
    "cat_enterprise": ("Doanh nghiệp", "Enterprises"),
    "cat_school": ("Nhà trường", "Schools"),
    "cat_health_station": ("Trạm y tế", "Health stations"),
    "cat_central": ("Cấp Trung ương", "Central level"),
    "cat_province": ("Cấp tỉnh", "Province level"),
    "cat_district": ("Cấp huyện", "District level"),
    "cat_homemade_gun": ("Súng tự chế", "Home-made guns"),
    "cat_military_gun": ("Súng quân dụng", "Military guns"),
    "cat_explosive": ("Vật liệu nổ", "Explosives"),
    "cat_ammunition": ("Đạn", "Ammunition"),
    "cat_support_tool": ("Công cụ hỗ trợ", "Support tools"),
    "cat_stable": ("Ổn định", "Stable"),
    "cat_contained": ("Đã kiềm chế", "Contained"),
    "cat_complex": ("Phức tạp", "Complex"),
}


def translate(language: str, key: str, **values) -> str:
    text = TEXT[key][LANGUAGES.index(language) if language in LANGUAGES else 0]
    return text.format(**values) if values else text
