"""`opskit inventory labels --format svg|pdf`: A4 sheets whose QR codes hold each cable's
page, checked by rendering the PDF and decoding the codes; the text formats unchanged."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import run_opskit
from tests.web.shop import SCRIPT, make_shop


def test_pdf_sheet_qr_codes_open_each_cables_page(tmp_path: Path) -> None:
    import pypdfium2
    import zxingcpp

    shop = make_shop(tmp_path / "shop", "https://ops.example.net")
    out = tmp_path / "labels.pdf"
    proc = run_opskit(
        "-i", str(shop.inventory), "inventory", "labels", "--format", "pdf", "-o", str(out),
        env=shop.env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == f"wrote {out}: 12 labels on 1 page"
    pdf = pypdfium2.PdfDocument(str(out))
    assert len(pdf) == 1
    width, height = pdf[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4, in mm
    image = pdf[0].render(scale=4).to_pil()
    texts = sorted(c.text for c in zxingcpp.read_barcodes(image))
    labels = ["A-001", "A-002", "A-003", "B-001", "B-002", "U-001"]
    assert texts == sorted(f"https://ops.example.net/c/{label}" for label in labels for _ in "ab")
    page_text = pdf[0].get_textpage().get_text_range()
    assert "A-001" in page_text and "access-sw1 Gi1/0/1" in page_text
    assert "to pp-1 1" in page_text


def test_svg_sheet_is_escaped_xml_sized_in_mm(tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop", "https://ops.example.net")
    text = shop.inventory.read_text().replace("label: U-001", "label: '<U&001>'")
    shop.inventory.write_text(text)
    proc = run_opskit(
        "-i", str(shop.inventory), "inventory", "labels", "--format", "svg", "--site", "branch",
        env=shop.env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    root = ET.fromstring(proc.stdout.encode())  # well-formed, whatever the label holds
    assert root.get("width") == "210mm" and root.get("height") == "297mm"
    assert "&lt;U&amp;001&gt;" in proc.stdout and "<U&001>" not in proc.stdout
    assert SCRIPT not in proc.stdout


def test_without_base_url_the_cli_warns_where_the_codes_point(tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop", "https://ops.example.net", users=False)
    text = shop.inventory.read_text().replace("    base_url: https://ops.example.net\n", "")
    shop.inventory.write_text(text)
    proc = run_opskit(
        "-i", str(shop.inventory), "inventory", "labels", "--format", "svg", env=shop.env()
    )
    assert proc.returncode == 0
    assert "settings.web.base_url is not set: the QR codes open http://127.0.0.1:8080" in (
        proc.stderr
    )


def test_text_and_csv_labels_are_as_before(tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop", "https://ops.example.net")
    proc = run_opskit("-i", str(shop.inventory), "inventory", "labels", "--site", "branch")
    assert proc.stdout == "U-001  access-sw1 Gi1/0/9 <-> branch-r1 Gi0/0/1\n"
    proc = run_opskit("-i", str(shop.inventory), "inventory", "labels", "--format", "csv")
    assert proc.stdout.splitlines()[:2] == [
        "label,a,b,color,length_m",
        "A-001,access-sw1 Gi1/0/1,pp-1 1,blue,0.5",
    ]
    proc = run_opskit("-i", str(shop.inventory), "inventory", "labels", "--format", "png")
    assert proc.returncode == 2 and "text, csv, svg or pdf" in proc.stderr
