"""Texts of papers that are none of the nine types, to teach the classifier what ``other`` looks like.

Dossiers carry invoices, receipts, contracts, invitations, diplomas and letters next to the papers
the procedure asks for. They share the national motto, names, dates and addresses with the nine types,
so a classifier that never saw them would call them by the nearest type, confidently. These texts are
built from the same kinds of lines but under other titles and with other wording.
"""

from __future__ import annotations

import random

from core.model import nfc

TITLES = (
    "HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "BIÊN LAI THU TIỀN PHÍ, LỆ PHÍ", "HỢP ĐỒNG THUÊ NHÀ", "GIẤY MỜI", "THÔNG BÁO",
    "QUYẾT ĐỊNH", "GIẤY ỦY QUYỀN", "BIÊN BẢN HỌP", "BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG", "GIẤY PHÉP LÁI XE",
    "THẺ BẢO HIỂM Y TẾ", "GIẤY CHỨNG NHẬN SỨC KHỎE", "HỌC BẠ", "PHIẾU LÝ LỊCH TƯ PHÁP", "GIẤY RA VIỆN",
    "HỢP ĐỒNG LAO ĐỘNG", "BIÊN NHẬN HỒ SƠ", "GIẤY BÁO NHẬP HỌC", "SỔ TIẾT KIỆM", "PHIẾU THU",
    "CÔNG VĂN", "BÁO CÁO", "KẾ HOẠCH", "GIẤY GIỚI THIỆU", "XÁC NHẬN CÔNG TÁC", "LỊCH TIẾP CÔNG DÂN",
    "GIẤY CHỨNG NHẬN BỒI DƯỠNG", "HỢP ĐỒNG MUA BÁN", "VĂN BẢN THỎA THUẬN", "PHIẾU KHÁM BỆNH",
)
LABELS = (
    "Họ và tên", "Địa chỉ", "Ngày", "Số tiền", "Bằng chữ", "Đơn vị", "Mã số", "Nội dung", "Lý do",
    "Số điện thoại", "Chức vụ", "Thời gian", "Địa điểm", "Bên A", "Bên B", "Đại diện", "Số hợp đồng",
    "Mặt hàng", "Thành tiền", "Ghi chú", "Xếp loại", "Hạng", "Nơi khám", "Chẩn đoán", "Kỳ hạn", "Lãi suất",
)
WORDS = (
    "theo", "quy định", "của", "và", "các", "được", "thực hiện", "trong", "thời gian", "đơn vị", "hợp đồng",
    "thanh toán", "kể từ ngày", "cuộc họp", "thành phần", "nội dung", "đề nghị", "đồng chí", "tham dự",
    "đúng giờ", "trân trọng", "kính mời", "nhà", "tiền thuê", "hàng tháng", "bên", "trách nhiệm", "bồi thường",
    "sức khỏe", "bệnh viện", "điều trị", "học sinh", "năm học", "trường", "kết quả", "đạt", "hàng hóa",
    "dịch vụ", "thuế", "tổng cộng", "ngân hàng", "tài khoản", "lãi", "công tác", "cơ quan", "giới thiệu",
    "liên hệ", "giải quyết", "công việc", "báo cáo", "tình hình", "kế hoạch", "triển khai", "tháng",
)
NAMES = ("NGUYỄN VĂN HÙNG", "TRẦN THỊ MAI", "LÊ MINH TUẤN", "PHẠM THU HÀ", "HOÀNG ĐỨC ANH", "VÕ THỊ LAN")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    return (" ".join(words)).capitalize() + "."


def unknown_text(rng: random.Random) -> str:
    """One page-ish of a paper that is none of the nine types."""
    lines: list[str] = []
    if rng.random() < 0.7:
        lines += ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    if rng.random() < 0.5:
        lines.insert(0, rng.choice(("UBND PHƯỜNG BẾN THÀNH", "CÔNG TY TNHH AN PHÚ", "TRƯỜNG THPT LÊ LỢI",
                                    "BỆNH VIỆN ĐA KHOA TỈNH", "NGÂN HÀNG TMCP", "CÔNG AN XÃ TÂN PHÚ")))
    lines.append(rng.choice(TITLES))
    if rng.random() < 0.5:
        lines.append(f"Số: {rng.randint(1, 999)}/{rng.choice(('QĐ', 'TB', 'HĐ', 'GM', 'BB'))}")
    for _ in range(rng.randint(3, 12)):
        r = rng.random()
        if r < 0.45:
            label = rng.choice(LABELS)
            day = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1960, 2026)}"
            money = f"{rng.randint(1, 999) * 1000:,}".replace(",", ".")
            value = rng.choice((rng.choice(NAMES), day, money, _sentence(rng)))
            lines.append(f"{label}: {value}")
        else:
            lines.append(_sentence(rng))
    if rng.random() < 0.6:
        lines.append(f"Hà Nội, ngày {rng.randint(1, 28):02d} tháng {rng.randint(1, 12):02d} năm {rng.randint(2000, 2026)}")
        lines.append(rng.choice(("GIÁM ĐỐC", "NGƯỜI LẬP PHIẾU", "TM. ỦY BAN NHÂN DÂN", "THỦ TRƯỞNG ĐƠN VỊ")))
        lines.append(rng.choice(NAMES).title())
    return nfc("\n".join(lines))
