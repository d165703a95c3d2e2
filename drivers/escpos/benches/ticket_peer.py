"""The queue ticket of benches/ticket.rs drawn by python-escpos + Pillow, the way most receipt
scripts print Vietnamese: each block of text drawn with Pillow in DejaVu Sans, sent as a raster
image; the QR drawn as an image too (native=False); then a cut. Prints the median time per ticket
and the bytes on the wire.

    bash drivers/escpos/benches/ticket_peer.sh     # sets up python-escpos + Pillow in target/
"""
import statistics
import sys
import time

from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

FONTS = sys.argv[1]
WIDTH = 576


def block(lines, font_file, size):
    font = ImageFont.truetype(f"{FONTS}/{font_file}", size)
    ascent, descent = font.getmetrics()
    line_height = ascent + descent + 2
    image = Image.new("1", (WIDTH, line_height * len(lines)), 1)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((WIDTH - width) // 2, i * line_height), line, font=font, fill=0)
    return image


def ticket(number):
    printer = Dummy()
    printer.profile.profile_data["media"]["width"]["pixels"] = WIDTH
    printer.hw("INIT")
    printer.image(block(["UBND PHƯỜNG LONG BIÊN", "Bộ phận tiếp nhận và trả kết quả"], "DejaVuSans-Bold.ttf", 26))
    printer.image(block([number], "DejaVuSans-Bold.ttf", 140))
    printer.image(block(["Hộ tịch — Đăng ký khai sinh"], "DejaVuSans-Bold.ttf", 30))
    printer.image(block(["Số người đang chờ trước quý vị: 7", "Quầy phục vụ: 1, 3", "08:15 thứ Sáu, 04/12/2026"],
                        "DejaVuSans.ttf", 26))
    printer.qr("https://motcua.example.gov.vn/hang-doi/A1023", size=6, native=False, center=True)
    printer.image(block(["Quét mã để theo dõi lượt của quý vị"], "DejaVuSans.ttf", 22))
    printer.cut(mode="PART")
    return printer.output


ticket("A1023")  # warm up (font loading)
times = []
for _ in range(50):
    start = time.perf_counter()
    output = ticket("A1023")
    times.append(time.perf_counter() - start)
print(f"python-escpos + Pillow: {statistics.median(times) * 1000:.2f} ms per ticket (median of 50), {len(output)} bytes")
