//! The made-up sample content of the simulated document: a birth-registration declaration form
//! ("Tờ khai đăng ký khai sinh") filled in for an invented family, and a page of instructions.
//!
//! Every name, address and number here is fictitious. All strings are NFC (precomposed) Vietnamese;
//! a test rejects combining marks, which the page renderer would draw detached.

/// One label, its filled-in value, and where the dotted leader after it ends (mm from the page's
/// left edge).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub label: &'static str,
    pub value: &'static str,
    pub until_mm: f32,
}

/// A line of the form body.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FormLine {
    /// One or more fields side by side.
    Fields(&'static [Field]),
    /// A bold line of instructions inside the form.
    Heading(&'static str),
}

const fn field(label: &'static str, value: &'static str, until_mm: f32) -> Field {
    Field { label, value, until_mm }
}

/// Right end of the text column (mm).
pub(crate) const RIGHT_MM: f32 = 190.0;

pub(crate) const NATION: &str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
pub(crate) const MOTTO: &str = "Độc lập - Tự do - Hạnh phúc";
pub(crate) const FORM_CODE: &str = "Mẫu TK-KS/01";
pub(crate) const FORM_TITLE: &str = "TỜ KHAI ĐĂNG KÝ KHAI SINH";
pub(crate) const ADDRESSEE: &str = "Kính gửi: Ủy ban nhân dân phường Long Biên, thành phố Hà Nội";

const HOME: &str = "Số 18, ngõ 72 phố Ngọc Lâm, phường Long Biên, Hà Nội";

pub(crate) const FORM_LINES: &[FormLine] = &[
    FormLine::Fields(&[field("Họ, chữ đệm, tên người yêu cầu:", "NGUYỄN VĂN AN", RIGHT_MM)]),
    FormLine::Fields(&[field("Nơi cư trú:", HOME, RIGHT_MM)]),
    FormLine::Fields(&[field("Giấy tờ tùy thân:", "Căn cước số 001088012345, cấp ngày 10/5/2021", RIGHT_MM)]),
    FormLine::Fields(&[field("Quan hệ với người được đăng ký khai sinh:", "Cha", RIGHT_MM)]),
    FormLine::Heading("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:"),
    FormLine::Fields(&[field("Họ, chữ đệm, tên:", "NGUYỄN THỊ BẢO NGỌC", RIGHT_MM)]),
    FormLine::Fields(&[field("Ngày, tháng, năm sinh:", "05/9/2025", RIGHT_MM)]),
    FormLine::Fields(&[field("Bằng chữ:", "ngày năm tháng chín năm hai nghìn không trăm hai mươi lăm", RIGHT_MM)]),
    FormLine::Fields(&[
        field("Giới tính:", "Nữ", 70.0),
        field("Dân tộc:", "Kinh", 125.0),
        field("Quốc tịch:", "Việt Nam", RIGHT_MM),
    ]),
    FormLine::Fields(&[field("Nơi sinh:", "Bệnh viện Đa khoa Đức Giang, thành phố Hà Nội", RIGHT_MM)]),
    FormLine::Fields(&[field("Quê quán:", "xã Nghĩa Hưng, tỉnh Ninh Bình", RIGHT_MM)]),
    FormLine::Fields(&[field("Họ, chữ đệm, tên người mẹ:", "TRẦN THỊ HƯƠNG", RIGHT_MM)]),
    FormLine::Fields(&[
        field("Năm sinh:", "1990", 70.0),
        field("Dân tộc:", "Kinh", 125.0),
        field("Quốc tịch:", "Việt Nam", RIGHT_MM),
    ]),
    FormLine::Fields(&[field("Nơi cư trú:", HOME, RIGHT_MM)]),
    FormLine::Fields(&[field("Họ, chữ đệm, tên người cha:", "NGUYỄN VĂN AN", RIGHT_MM)]),
    FormLine::Fields(&[
        field("Năm sinh:", "1988", 70.0),
        field("Dân tộc:", "Kinh", 125.0),
        field("Quốc tịch:", "Việt Nam", RIGHT_MM),
    ]),
    FormLine::Fields(&[field("Nơi cư trú:", HOME, RIGHT_MM)]),
];

pub(crate) const DECLARATION: &[&str] = &[
    "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật, được sự thỏa thuận \
     nhất trí của các bên liên quan theo quy định pháp luật.",
    "Tôi chịu hoàn toàn trách nhiệm trước pháp luật về nội dung cam đoan của mình.",
];

pub(crate) const PLACE_AND_DATE: &str = "Long Biên, ngày 15 tháng 9 năm 2025";

/// Left block at the bottom: the receiving office's acknowledgement, stamped.
pub(crate) const RECEIPT_BLOCK: &[&str] =
    &["XÁC NHẬN CỦA BỘ PHẬN", "TIẾP NHẬN VÀ TRẢ KẾT QUẢ", "Đã nhận đủ hồ sơ, số: 125/TN-HT"];

/// Right block at the bottom: the applicant's signature.
pub(crate) const SIGNER_ROLE: &str = "Người yêu cầu";
pub(crate) const SIGNER_HINT: &str = "(Ký, ghi rõ họ, chữ đệm, tên)";
pub(crate) const SIGNER_NAME: &str = "Nguyễn Văn An";

/// Text around the seal's ring (a star is added at the bottom).
pub(crate) const SEAL_RING: &str = "ỦY BAN NHÂN DÂN PHƯỜNG LONG BIÊN ★ TP HÀ NỘI";
/// Text across the seal's centre, under the star.
pub(crate) const SEAL_CENTER: &str = "LONG BIÊN";

pub(crate) const GUIDE_TITLE: &str = "HƯỚNG DẪN GHI TỜ KHAI ĐĂNG KÝ KHAI SINH";
pub(crate) const GUIDE_SUBTITLE: &str = "(Kèm theo tờ khai, giao cho người yêu cầu giữ lại)";

pub(crate) const GUIDE_PARAGRAPHS: &[&str] = &[
    "1. Mục “Họ, chữ đệm, tên” ghi bằng chữ in hoa, có dấu, đúng như giấy tờ chứng minh việc sinh. \
     Trường hợp cha, mẹ chọn chữ đệm là họ của người mẹ thì ghi đầy đủ, không viết tắt.",
    "2. Mục “Ngày, tháng, năm sinh” ghi theo dương lịch, cả bằng số và bằng chữ. Ví dụ: 05/9/2025 \
     (ngày năm, tháng chín, năm hai nghìn không trăm hai mươi lăm).",
    "3. Mục “Nơi sinh”: trẻ em sinh tại cơ sở y tế thì ghi tên cơ sở y tế và địa danh hành chính nơi \
     có cơ sở y tế đó; sinh ngoài cơ sở y tế thì ghi đủ địa danh hành chính nơi sinh ra.",
    "4. Mục “Quê quán” ghi theo quê quán của cha hoặc của mẹ theo thỏa thuận của cha, mẹ; nếu không \
     có thỏa thuận thì ghi theo tập quán hoặc theo quê quán của người cha.",
    "5. Mục “Dân tộc” và “Quốc tịch” ghi theo dân tộc, quốc tịch của cha, mẹ. Trẻ em có cha, mẹ \
     khác dân tộc thì dân tộc được xác định theo thỏa thuận của cha, mẹ.",
    "6. Người đi đăng ký xuất trình bản chính giấy tờ tùy thân và nộp giấy chứng sinh. Trường hợp \
     không có giấy chứng sinh thì nộp văn bản của người làm chứng xác nhận về việc sinh; nếu không \
     có người làm chứng thì nộp giấy cam đoan về việc sinh.",
    "7. Công chức tư pháp - hộ tịch kiểm tra hồ sơ, ghi vào Sổ đăng ký khai sinh, cập nhật Cơ sở dữ \
     liệu hộ tịch điện tử và cấp bản chính Giấy khai sinh cho người được đăng ký khai sinh.",
    "8. Thời hạn giải quyết: ngay trong ngày tiếp nhận hồ sơ; trường hợp nhận hồ sơ sau 15 giờ mà \
     không giải quyết được ngay thì trả kết quả trong ngày làm việc tiếp theo.",
    "9. Khi nhận kết quả, người yêu cầu kiểm tra kỹ họ tên, ngày sinh, giới tính, dân tộc, quốc \
     tịch, quê quán trên Giấy khai sinh. Nếu có sai sót, đề nghị cán bộ tiếp nhận điều chỉnh ngay \
     tại quầy; không tự ý tẩy xóa, sửa chữa nội dung giấy tờ.",
    "10. Mọi thắc mắc về thủ tục xin liên hệ Bộ phận tiếp nhận và trả kết quả của Ủy ban nhân dân \
     phường trong giờ hành chính, từ thứ Hai đến sáng thứ Bảy.",
];

pub(crate) const GUIDE_FOOTER: &str = "Trang 2/2";

/// Every string drawn on a page, for the checks in tests.
#[cfg(test)]
pub(crate) fn all_strings() -> Vec<&'static str> {
    let mut all = vec![
        NATION,
        MOTTO,
        FORM_CODE,
        FORM_TITLE,
        ADDRESSEE,
        PLACE_AND_DATE,
        SIGNER_ROLE,
        SIGNER_HINT,
        SIGNER_NAME,
        SEAL_RING,
        SEAL_CENTER,
        GUIDE_TITLE,
        GUIDE_SUBTITLE,
        GUIDE_FOOTER,
    ];
    for line in FORM_LINES {
        match line {
            FormLine::Fields(fields) => all.extend(fields.iter().flat_map(|f| [f.label, f.value])),
            FormLine::Heading(text) => all.push(text),
        }
    }
    all.extend(DECLARATION);
    all.extend(RECEIPT_BLOCK);
    all.extend(GUIDE_PARAGRAPHS);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Face;
    use ab_glyph::Font;

    #[test]
    fn sample_text_is_nfc_and_every_character_has_a_glyph() {
        for text in all_strings() {
            for c in text.chars() {
                // Combining diacritics (U+0300–U+036F) would mean NFD text.
                assert!(!('\u{300}'..='\u{36f}').contains(&c), "combining mark in {text:?}");
                for face in [Face::Regular, Face::Bold] {
                    assert_ne!(face.font().glyph_id(c).0, 0, "no glyph for {c:?} in {text:?}");
                }
            }
        }
    }

    #[test]
    fn sample_text_has_full_vietnamese_diacritics() {
        let joined = all_strings().concat();
        for c in ['ễ', 'Ộ', 'ư', 'Ư', 'ơ', 'đ', 'Đ', 'ặ', 'ỹ', 'ọ', 'ủ', 'ả'] {
            assert!(joined.contains(c), "sample text should exercise {c}");
        }
    }
}
